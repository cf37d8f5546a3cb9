"""Scoring a screening from its answers, by the rules its instrument file declares.

API.md ("Developmental benchmarks and screenings") and DESIGN.md ("Domain rules that are easy
to get wrong"): the server scores every screening. Three methods cover the shipped instruments,
and any instrument file may use them:

- ``sum`` (PHQ-9, EPDS, HITS): the total of the answers; positive at or above the threshold;
  urgent when an urgent item (PHQ-9 item 9, EPDS item 10) is answered above its lowest answer.
- ``asq_domains`` (ASQ-3): a score per domain, scaled up for one or two unanswered items; each
  domain's zone from the agency's cutoffs file; positive when any domain is ``below``.
- ``asq_total`` (ASQ:SE-2): a total given directly; positive when above the interval's cutoff.

Pure functions: no database, no request. Invalid input raises ``InvalidScreening`` whose
``errors`` name each field, for the caller to answer a 422.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hvcase.organisations.settings import DEFAULTS as SETTING_DEFAULTS
from hvcase.screenings.instruments import (
    ASQ_DOMAINS,
    ASQ_TOTAL,
    SUM,
    Cutoff,
    Cutoffs,
    Instrument,
)

POSITIVE, NEGATIVE = "positive", "negative"
BELOW, MONITORING, ABOVE = "below", "monitoring", "above"
# A total given directly is stored in a 32-bit integer column: beyond it is a 422, not a 500.
INT32_MAX = 2**31 - 1

Score = int | float


class InvalidScreening(ValueError):
    """Answers that do not fit the instrument; ``errors`` maps field paths (``responses``,
    ``responses.3``, ``responses.communication.2``, ``domain_scores.total``, ``interval``) to
    messages, as a 422's ``errors`` (API.md, Conventions)."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = {name: list(messages) for name, messages in errors.items()}
        super().__init__(
            "; ".join(f"{name}: {' '.join(messages)}" for name, messages in self.errors.items())
        )


@dataclass(frozen=True)
class Scored:
    """What the server adds to a screening (API.md): ``total`` (sums and ASQ:SE-2; None for
    ASQ-3), ``domain_scores`` (ASQ; a domain not scored is None), ``zones`` (ASQ-3; None
    elsewhere), ``result`` (``positive`` or ``negative``), ``referral_recommended`` (when
    positive) and ``urgent``."""

    total: Score | None
    domain_scores: Mapping[str, Score | None] | None
    zones: Mapping[str, str | None] | None
    result: str
    referral_recommended: bool
    urgent: bool


def score(
    instrument: Instrument,
    *,
    responses: Any = None,
    domain_scores: Any = None,
    interval: int | None,
    settings: Mapping[str, Any],
    cutoffs: Cutoffs,
) -> Scored:
    """Score one screening of ``instrument`` (API.md: the server scores).

    ``responses`` or ``domain_scores`` as the client sent them (None when absent);
    ``interval`` in months for an instrument with intervals (the caller has chosen it from the
    child's age when the client gave none), None otherwise; ``settings`` the agency's settings
    (a threshold setting it lacks takes its default); ``cutoffs`` the agency's ASQ cutoffs.
    Raises ``InvalidScreening`` naming every field that does not fit.
    """
    errors: dict[str, list[str]] = {}
    _check_interval(instrument, interval, errors)
    _check_input_kind(instrument, responses, domain_scores, errors)
    if errors:
        raise InvalidScreening(errors)
    if instrument.method == SUM:
        return _score_sum(instrument, responses, settings)
    if instrument.method == ASQ_DOMAINS:
        return _score_asq_domains(instrument, responses, domain_scores, interval, cutoffs)
    if instrument.method == ASQ_TOTAL:
        return _score_asq_total(instrument, domain_scores, interval, cutoffs)
    raise ValueError(f"{instrument.code}: unknown scoring method {instrument.method}")


def zone(domain_score: Score, cutoff: Cutoff) -> str:
    """An ASQ-3 domain's zone (DESIGN.md): ``below`` at or under the cutoff, ``monitoring``
    above it up to the top of the monitoring zone, ``above`` beyond."""
    if domain_score <= cutoff.cutoff:
        return BELOW
    if cutoff.monitoring_to is not None and domain_score <= cutoff.monitoring_to:
        return MONITORING
    return ABOVE


def scaled_domain_score(points: Sequence[int | None], max_unanswered: int) -> Score | None:
    """A domain's score from its items' points, None for an unanswered item.

    ASQ-3 User's Guide: with one or two items unanswered, each is given the mean of the
    answered items (total × items ÷ answered, so 25 over 4 of 6 items is 37.5; kept exact, not
    rounded); with more unanswered the domain is not scored (None).
    """
    answered = [value for value in points if value is not None]
    if len(points) - len(answered) > max_unanswered or not answered:
        return None
    return _number(Fraction(sum(answered) * len(points), len(answered)))


# --- Checks common to every method ---------------------------------------------------------


def _is_integer(value: Any) -> bool:
    # JSON's true is not 1 here (API.md: values have their declared JSON type, strictly).
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Fraction) -> Score:
    """A whole score as an int, a half (37.5) as a float: both are exact."""
    return int(value) if value.denominator == 1 else float(value)


def _check_interval(instrument: Instrument, interval: Any, errors: dict[str, list[str]]) -> None:
    if not instrument.intervals:
        if interval is not None:
            errors["interval"] = [f"{instrument.code} has no intervals: leave interval out."]
        return
    offered = ", ".join(map(str, instrument.intervals))
    if interval is None:
        errors["interval"] = [f"{instrument.code} needs an interval (months): one of {offered}."]
    elif not _is_integer(interval) or interval not in instrument.intervals:
        errors["interval"] = [f"Not an interval of {instrument.code}: one of {offered}."]


def _check_input_kind(
    instrument: Instrument, responses: Any, domain_scores: Any, errors: dict[str, list[str]]
) -> None:
    """Which of ``responses`` and ``domain_scores`` the instrument takes (API.md): sums only
    responses, ASQ-3 either (not both), ASQ:SE-2 only ``domain_scores: {"total": n}``."""
    code, method = instrument.code, instrument.method
    if method == SUM:
        if domain_scores is not None:
            errors["domain_scores"] = [
                f"{code} is scored from its responses: domain_scores are not accepted."
            ]
        elif responses is None:
            errors["responses"] = [f"{code} needs responses."]
    elif method == ASQ_DOMAINS:
        if responses is not None and domain_scores is not None:
            errors["domain_scores"] = ["Give responses or domain_scores, not both."]
        elif responses is None and domain_scores is None:
            errors["responses"] = [f"{code} needs responses or domain_scores."]
    elif method == ASQ_TOTAL:
        example = f'{{"{instrument.domains[0]}": n}}'
        if responses is not None:
            errors["responses"] = [
                f"{code} is recorded as domain_scores {example}: responses are not accepted."
            ]
        elif domain_scores is None:
            errors["domain_scores"] = [f"{code} needs domain_scores {example}."]


def _mapping_of_domains(
    instrument: Instrument, value: Any, field: str, what: str, errors: dict[str, list[str]]
) -> bool:
    """Whether ``value`` is an object of exactly the instrument's domains; errors otherwise."""
    domains = instrument.domains or ()
    if not isinstance(value, Mapping):
        errors[field] = [f"{instrument.code} takes an object of its domains ({what})."]
        return False
    for name in value:
        if name not in domains:
            errors[f"{field}.{name}"] = [f"Unknown field: the domains are {', '.join(domains)}."]
    for name in domains:
        if name not in value:
            errors[f"{field}.{name}"] = ["Missing data for required field."]
    return not errors


# --- Sums: PHQ-9, EPDS, HITS ---------------------------------------------------------------


def _score_sum(instrument: Instrument, responses: Any, settings: Mapping[str, Any]) -> Scored:
    """A sum-scored screen (API.md): PHQ-9 positive at 10+, item 9 above 0 urgent; EPDS at the
    agency's ``epds_positive_at`` (13, or 10), item 10 above 0 urgent; HITS positive at 11+.

    An urgent item is urgent when answered above the item's lowest answer (0 for PHQ-9 and
    EPDS, whose items run 0–3).
    """
    items = instrument.items or {}
    count, low, high = items["count"], items["min"], items["max"]
    code = instrument.code
    if not isinstance(responses, list | tuple):
        raise InvalidScreening({"responses": [f"{code} takes a list of {count} answers."]})
    if len(responses) != count:
        raise InvalidScreening(
            {"responses": [f"{code} takes {count} answers, not {len(responses)}."]}
        )
    errors = {
        f"responses.{index}": [f"Item {index + 1}: an integer from {low} to {high}."]
        for index, answer in enumerate(responses)
        if not _is_integer(answer) or not low <= answer <= high
    }
    if errors:
        raise InvalidScreening(errors)
    total = sum(responses)
    positive = total >= _threshold(instrument, settings)
    urgent = any(responses[number - 1] > low for number in instrument.scoring["urgent_items"])
    return Scored(
        total=total,
        domain_scores=None,
        zones=None,
        result=POSITIVE if positive else NEGATIVE,
        referral_recommended=positive,
        urgent=urgent,
    )


def _threshold(instrument: Instrument, settings: Mapping[str, Any]) -> int:
    """The total at which a sum is positive: the file's ``positive_at``, or the agency's
    setting it names (EPDS: ``epds_positive_at``), that setting's default when unset."""
    name = instrument.scoring.get("positive_at_setting")
    if name is None:
        return instrument.scoring["positive_at"]
    value = settings.get(name)
    return SETTING_DEFAULTS[name] if value is None else value


# --- ASQ-3 ---------------------------------------------------------------------------------


def _score_asq_domains(
    instrument: Instrument,
    responses: Any,
    domain_scores: Any,
    interval: int,
    cutoffs: Cutoffs,
) -> Scored:
    """ASQ-3 (DESIGN.md): each domain 0–60, scaled up for one or two unanswered items and not
    scored with more; zones from the agency's cutoffs for the interval; positive when any
    domain is ``below``. A questionnaire with no domain scored is refused: recorded, it would
    count as a screening that told nothing."""
    if responses is not None:
        scores = _scores_from_responses(instrument, responses)
        field = "responses"
    else:
        scores = _scores_given(instrument, domain_scores)
        field = "domain_scores"
    if all(value is None for value in scores.values()):
        raise InvalidScreening(
            {
                field: [
                    "No domain can be scored: each needs all but at most "
                    f"{instrument.scoring['max_unanswered']} of its items answered."
                ]
            }
        )
    zones = {
        domain: None
        if value is None
        else zone(value, _cutoff(cutoffs, instrument, interval, domain))
        for domain, value in scores.items()
    }
    positive = BELOW in zones.values()
    return Scored(
        total=None,
        domain_scores=scores,
        zones=zones,
        result=POSITIVE if positive else NEGATIVE,
        referral_recommended=positive,
        urgent=False,
    )


def _scores_from_responses(instrument: Instrument, responses: Any) -> dict[str, Score | None]:
    items = instrument.items or {}
    per_domain, points = items["per_domain"], items["answers"]
    allowed = ", ".join(points)
    errors: dict[str, list[str]] = {}
    what = f"each a list of {per_domain} answers: {allowed} or null"
    if not _mapping_of_domains(instrument, responses, "responses", what, errors):
        raise InvalidScreening(errors)
    for domain in instrument.domains or ():
        answers = responses[domain]
        if not isinstance(answers, list | tuple) or len(answers) != per_domain:
            got = f", not {len(answers)}" if isinstance(answers, list | tuple) else ""
            errors[f"responses.{domain}"] = [f"{domain} takes {per_domain} answers{got}."]
            continue
        for index, answer in enumerate(answers):
            if answer is not None and (not isinstance(answer, str) or answer not in points):
                errors[f"responses.{domain}.{index}"] = [f"Must be one of: {allowed}, or null."]
    if errors:
        raise InvalidScreening(errors)
    return {
        domain: scaled_domain_score(
            [None if answer is None else points[answer] for answer in responses[domain]],
            instrument.scoring["max_unanswered"],
        )
        for domain in instrument.domains or ()
    }


def _scores_given(instrument: Instrument, domain_scores: Any) -> dict[str, Score | None]:
    """Domain scores given directly (API.md: ASQ-3 each 0–60 in steps of 5); null is a domain
    not scored, as with three unanswered items."""
    top, step = instrument.domain_max or 0, instrument.score_step or 1
    rule = f"an integer from 0 to {top} in steps of {step}, or null when not scored"
    errors: dict[str, list[str]] = {}
    if not _mapping_of_domains(instrument, domain_scores, "domain_scores", rule, errors):
        raise InvalidScreening(errors)
    for domain in instrument.domains or ():
        value = domain_scores[domain]
        if value is not None and not (
            _is_integer(value) and 0 <= value <= top and value % step == 0
        ):
            errors[f"domain_scores.{domain}"] = [f"Must be {rule}."]
    if errors:
        raise InvalidScreening(errors)
    return {domain: domain_scores[domain] for domain in instrument.domains or ()}


def _cutoff(cutoffs: Cutoffs, instrument: Instrument, interval: int, domain: str) -> Cutoff:
    found = cutoffs.get(instrument.code, interval, domain)
    if found is None:
        # load_cutoffs refuses a file without a row for every interval and domain of the
        # instruments it was given: this is cutoffs loaded against other instruments.
        raise LookupError(
            f"{cutoffs.path} has no cutoff for {instrument.code} {interval} months {domain}"
        )
    return found


# --- ASQ:SE-2 ------------------------------------------------------------------------------


def _score_asq_total(
    instrument: Instrument, domain_scores: Any, interval: int, cutoffs: Cutoffs
) -> Scored:
    """ASQ:SE-2 (API.md): ``domain_scores: {"total": n}``, n 0 or more in steps of 5; positive
    when the total is above the interval's cutoff."""
    (domain,) = instrument.domains or ("total",)
    step = instrument.score_step or 1
    errors: dict[str, list[str]] = {}
    if not _mapping_of_domains(instrument, domain_scores, "domain_scores", f"{domain}: n", errors):
        raise InvalidScreening(errors)
    total = domain_scores[domain]
    if not (_is_integer(total) and 0 <= total <= INT32_MAX and total % step == 0):
        raise InvalidScreening(
            {f"domain_scores.{domain}": [f"Must be an integer, 0 or more, in steps of {step}."]}
        )
    positive = total > _cutoff(cutoffs, instrument, interval, domain).cutoff
    return Scored(
        total=total,
        domain_scores={domain: total},
        zones=None,
        result=POSITIVE if positive else NEGATIVE,
        referral_recommended=positive,
        urgent=False,
    )
