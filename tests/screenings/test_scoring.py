"""The server scores each screening by its instrument's published rules (API.md, DESIGN.md):
PHQ-9, EPDS and HITS by their totals, ASQ-3 by domain against the agency's cutoffs (here the
shipped example's made-up values), ASQ:SE-2 by its total. Every expectation is worked out by
hand from those definitions; every refusal names its field."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvcase.screenings.instruments import EXAMPLE_CUTOFFS_FILE, load_cutoffs, load_instruments
from hvcase.screenings.scoring import InvalidScreening, Scored, scaled_domain_score, score

TEST_INSTRUMENTS = Path(__file__).parent / "data" / "instruments"
INSTRUMENTS = load_instruments(TEST_INSTRUMENTS)
CUTOFFS = load_cutoffs(EXAMPLE_CUTOFFS_FILE, INSTRUMENTS)
DEFAULT_SETTINGS = {"epds_positive_at": 13}

# The example's cutoffs at 24 months (asq_cutoffs.example.csv): cutoff, top of monitoring.
#   communication 25.00 / 37.50, gross_motor 35.00 / 47.50, fine_motor 30.00 / 42.50,
#   problem_solving 27.50 / 40.00, personal_social 32.50 / 45.00; asqse2 total 65.00.


def scored(code, *, responses=None, domain_scores=None, interval=None, settings=None):
    return score(
        INSTRUMENTS[code],
        responses=responses,
        domain_scores=domain_scores,
        interval=interval,
        settings=DEFAULT_SETTINGS if settings is None else settings,
        cutoffs=CUTOFFS,
    )


def refused(code, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(InvalidScreening) as caught:
        scored(code, **kwargs)
    return caught.value.errors


def asq3_answers(**domains):
    """Six ``yes`` in every domain, except those given."""
    every = ("communication", "gross_motor", "fine_motor", "problem_solving", "personal_social")
    return {domain: domains.get(domain, ["yes"] * 6) for domain in every}


# --- PHQ-9 ---------------------------------------------------------------------------------


def test_a_phq9_total_of_9_is_negative():
    result = scored("phq9", responses=[3, 3, 3, 0, 0, 0, 0, 0, 0])  # 3 + 3 + 3 = 9

    assert result == Scored(
        total=9,
        domain_scores=None,
        zones=None,
        result="negative",
        referral_recommended=False,
        urgent=False,
    )


def test_a_phq9_total_of_10_is_positive_and_recommends_a_referral():
    result = scored("phq9", responses=[3, 3, 3, 1, 0, 0, 0, 0, 0])  # 3 + 3 + 3 + 1 = 10

    assert (result.total, result.result, result.referral_recommended) == (10, "positive", True)
    assert not result.urgent


def test_phq9_item_9_answered_at_all_is_urgent_even_with_a_low_total():
    result = scored("phq9", responses=[0, 0, 0, 0, 0, 0, 0, 0, 1])  # item 9: 1; total 1

    assert (result.total, result.result, result.urgent) == (1, "negative", True)


def test_phq9_item_8_is_not_the_urgent_one():
    result = scored("phq9", responses=[0, 0, 0, 0, 0, 0, 0, 3, 0])

    assert not result.urgent


# --- EPDS ----------------------------------------------------------------------------------


def test_an_epds_total_of_12_is_negative_with_the_default_threshold():
    responses = [3, 3, 3, 3, 0, 0, 0, 0, 0, 0]  # 12, under the default 13

    assert scored("epds", responses=responses).result == "negative"
    assert scored("epds", responses=responses, settings={}).result == "negative"


def test_an_epds_total_of_13_is_positive_with_the_default_threshold():
    responses = [3, 3, 3, 3, 1, 0, 0, 0, 0, 0]  # 12 + 1 = 13

    assert scored("epds", responses=responses).result == "positive"
    # An agency that never chose takes the default, 13.
    assert scored("epds", responses=responses, settings={}).total == 13
    assert scored("epds", responses=responses, settings={}).result == "positive"


def test_an_epds_total_of_10_is_positive_for_an_agency_that_screens_at_10():
    responses = [3, 3, 3, 1, 0, 0, 0, 0, 0, 0]  # 10
    at_10 = {"epds_positive_at": 10}

    assert scored("epds", responses=responses, settings=at_10).result == "positive"
    assert scored("epds", responses=responses).result == "negative"  # 10 < 13
    nine = [3, 3, 3, 0, 0, 0, 0, 0, 0, 0]
    assert scored("epds", responses=nine, settings=at_10).result == "negative"


def test_epds_item_10_above_0_is_urgent():
    result = scored("epds", responses=[0, 0, 0, 0, 0, 0, 0, 0, 0, 2])  # item 10: 2

    assert (result.total, result.result, result.urgent) == (2, "negative", True)


def test_epds_item_9_is_not_the_urgent_one():
    assert not scored("epds", responses=[0, 0, 0, 0, 0, 0, 0, 0, 3, 0]).urgent


# --- HITS ----------------------------------------------------------------------------------


def test_a_hits_total_of_10_is_negative():
    result = scored("ipv", responses=[1, 2, 3, 4])  # 1 + 2 + 3 + 4 = 10

    assert (result.total, result.result, result.referral_recommended) == (10, "negative", False)


def test_a_hits_total_of_11_is_positive():
    result = scored("ipv", responses=[2, 2, 3, 4])  # 2 + 2 + 3 + 4 = 11

    assert (result.total, result.result, result.referral_recommended) == (11, "positive", True)
    assert not result.urgent  # HITS has no urgent item


def test_the_lowest_hits_answers_total_4_and_are_not_urgent():
    result = scored("ipv", responses=[1, 1, 1, 1])  # "never" to each: 4

    assert (result.total, result.result, result.urgent) == (4, "negative", False)


# --- Wrong answers to a sum ----------------------------------------------------------------


def test_a_phq9_with_8_answers_is_refused():
    errors = refused("phq9", responses=[0] * 8)

    assert errors == {"responses": ["phq9 takes 9 answers, not 8."]}


def test_an_epds_with_11_answers_is_refused():
    assert list(refused("epds", responses=[0] * 11)) == ["responses"]


def test_an_answer_out_of_range_is_refused_naming_its_place():
    errors = refused("phq9", responses=[0, 0, 4, 0, 0, 0, 0, 0, 0])

    assert errors == {"responses.2": ["Item 3: an integer from 0 to 3."]}


def test_a_hits_answer_of_0_is_refused_since_hits_answers_run_1_to_5():
    errors = refused("ipv", responses=[0, 1, 1, 6])

    assert errors == {
        "responses.0": ["Item 1: an integer from 1 to 5."],
        "responses.3": ["Item 4: an integer from 1 to 5."],
    }


def test_answers_of_the_wrong_json_type_are_refused():
    errors = refused("phq9", responses=[True, "1", 1.5, 0, 0, 0, 0, 0, 0])

    assert list(errors) == ["responses.0", "responses.1", "responses.2"]


def test_responses_that_are_not_a_list_are_refused():
    assert list(refused("phq9", responses={"1": 0})) == ["responses"]


def test_domain_scores_for_a_phq9_are_refused():
    errors = refused("phq9", domain_scores={"total": 9})

    assert errors == {
        "domain_scores": ["phq9 is scored from its responses: domain_scores are not accepted."]
    }


def test_a_phq9_without_responses_is_refused():
    assert list(refused("phq9")) == ["responses"]


def test_a_phq9_has_no_interval():
    errors = refused("phq9", responses=[0] * 9, interval=24)

    assert errors == {"interval": ["phq9 has no intervals: leave interval out."]}


# --- ASQ-3 ---------------------------------------------------------------------------------


def test_asq3_scores_each_domain_yes_10_sometimes_5_not_yet_0():
    answers = asq3_answers(
        communication=["yes"] * 6,  # 60
        gross_motor=["yes", "yes", "yes", "sometimes", "sometimes", "not_yet"],  # 30 + 10 + 0 = 40
        fine_motor=["sometimes"] * 6,  # 30
        problem_solving=["yes", "yes", "yes", "yes", "not_yet", "not_yet"],  # 40
        personal_social=["yes", "yes", "yes", "yes", "sometimes", "sometimes"],  # 40 + 10 = 50
    )

    result = scored("asq3", responses=answers, interval=24)

    assert result.domain_scores == {
        "communication": 60,
        "gross_motor": 40,
        "fine_motor": 30,
        "problem_solving": 40,
        "personal_social": 50,
    }
    assert result.zones == {
        "communication": "above",  # 60 > 37.5
        "gross_motor": "monitoring",  # 35 < 40 <= 47.5
        "fine_motor": "below",  # 30 at the cutoff 30
        "problem_solving": "monitoring",  # 40 at the top of monitoring, 40
        "personal_social": "above",  # 50 > 45
    }
    assert (result.total, result.result, result.referral_recommended) == (None, "positive", True)
    assert not result.urgent


def test_asq3_with_no_domain_below_is_negative():
    result = scored("asq3", responses=asq3_answers(), interval=24)  # every domain 60

    assert set(result.zones.values()) == {"above"}
    assert (result.result, result.referral_recommended) == ("negative", False)


def test_one_unanswered_item_is_scaled_up_by_the_mean_of_the_answered_five():
    # 10 + 10 + 10 + 5 + 0 = 35 over 5 items; 35 x 6 / 5 = 42.
    answers = asq3_answers(communication=["yes", "yes", "yes", "sometimes", "not_yet", None])

    result = scored("asq3", responses=answers, interval=24)

    assert result.domain_scores["communication"] == 42
    assert result.zones["communication"] == "above"  # 42 > 37.5


def test_two_unanswered_items_are_scaled_up_and_keep_their_half_point():
    # 10 + 5 + 10 + 0 = 25 over 4 items; 25 x 6 / 4 = 37.5, not rounded.
    answers = asq3_answers(communication=["yes", "sometimes", None, "yes", None, "not_yet"])

    result = scored("asq3", responses=answers, interval=24)

    assert result.domain_scores["communication"] == 37.5
    assert result.zones["communication"] == "monitoring"  # 37.5 at the top of monitoring


def test_three_unanswered_items_leave_the_domain_unscored():
    answers = asq3_answers(communication=["yes", None, None, None, "yes", "yes"])

    result = scored("asq3", responses=answers, interval=24)

    assert result.domain_scores["communication"] is None
    assert result.zones["communication"] is None
    assert result.zones["gross_motor"] == "above"  # the others are scored as usual
    assert result.result == "negative"


def test_a_domain_below_makes_the_result_positive_whatever_the_others():
    answers = asq3_answers(problem_solving=["sometimes"] * 5 + ["not_yet"])  # 25 <= 27.5

    result = scored("asq3", responses=answers, interval=24)

    assert result.zones["problem_solving"] == "below"
    assert result.result == "positive"


def test_the_scaling_rule_by_itself():
    assert scaled_domain_score([10, 10, 10, 10, 10, 10], 2) == 60
    assert scaled_domain_score([10, 10, 10, 10, 10, None], 2) == 60  # 50 x 6 / 5
    assert scaled_domain_score([5, None, 0, None, 0, 0], 2) == 7.5  # 5 x 6 / 4
    assert scaled_domain_score([5, None, None, None, 0, 0], 2) is None


def test_zones_around_the_communication_cutoff_at_24_months():
    def communication_zone(points):
        scores = {
            "communication": points,
            "gross_motor": 60,
            "fine_motor": 60,
            "problem_solving": 60,
            "personal_social": 60,
        }
        return scored("asq3", domain_scores=scores, interval=24).zones["communication"]

    # cutoff 25.00, monitoring up to 37.50
    assert communication_zone(0) == "below"
    assert communication_zone(20) == "below"
    assert communication_zone(25) == "below"  # at the cutoff
    assert communication_zone(30) == "monitoring"  # just above it
    assert communication_zone(35) == "monitoring"
    assert communication_zone(40) == "above"  # past 37.50
    assert communication_zone(60) == "above"


def test_the_same_score_falls_in_another_zone_at_another_interval():
    scores = {
        "communication": 30,
        "gross_motor": 60,
        "fine_motor": 60,
        "problem_solving": 60,
        "personal_social": 60,
    }

    # 2 months: communication cutoff 30.00; 24 months: 25.00 (the example file).
    assert scored("asq3", domain_scores=scores, interval=2).zones["communication"] == "below"
    assert scored("asq3", domain_scores=scores, interval=24).zones["communication"] == "monitoring"


def test_domain_scores_given_directly_may_leave_a_domain_unscored():
    scores = {
        "communication": None,
        "gross_motor": 35,  # at its cutoff 35.00
        "fine_motor": 60,
        "problem_solving": 60,
        "personal_social": 60,
    }

    result = scored("asq3", domain_scores=scores, interval=24)

    assert result.domain_scores == scores
    assert result.zones["communication"] is None
    assert (result.zones["gross_motor"], result.result) == ("below", "positive")


# --- Wrong ASQ-3 input ---------------------------------------------------------------------


def test_an_asq3_domain_with_5_answers_is_refused():
    errors = refused("asq3", responses=asq3_answers(communication=["yes"] * 5), interval=24)

    assert errors == {"responses.communication": ["communication takes 6 answers, not 5."]}


def test_an_asq3_answer_that_is_not_yes_sometimes_or_not_yet_is_refused():
    answers = asq3_answers(fine_motor=["yes", "yes", "maybe", "Yes", 10, None])

    errors = refused("asq3", responses=answers, interval=24)

    assert list(errors) == [
        "responses.fine_motor.2",
        "responses.fine_motor.3",
        "responses.fine_motor.4",
    ]
    assert errors["responses.fine_motor.2"] == ["Must be one of: yes, sometimes, not_yet, or null."]


def test_an_asq3_domain_missing_or_unknown_is_refused():
    answers = asq3_answers()
    del answers["personal_social"]
    answers["vision"] = ["yes"] * 6

    errors = refused("asq3", responses=answers, interval=24)

    assert set(errors) == {"responses.vision", "responses.personal_social"}
    assert errors["responses.personal_social"] == ["Missing data for required field."]


def test_asq3_responses_that_are_a_list_are_refused():
    assert list(refused("asq3", responses=["yes"] * 30, interval=24)) == ["responses"]


def test_an_asq3_with_no_domain_scorable_is_refused():
    blank = [None] * 6
    answers = asq3_answers(
        communication=blank,
        gross_motor=blank,
        fine_motor=blank,
        problem_solving=blank,
        personal_social=blank,
    )

    assert list(refused("asq3", responses=answers, interval=24)) == ["responses"]


@pytest.mark.parametrize("points", [62, 65, -5, 37, 35.0, True, "35"])
def test_asq3_domain_scores_are_integers_0_to_60_in_steps_of_5(points):
    scores = {
        "communication": points,
        "gross_motor": 60,
        "fine_motor": 60,
        "problem_solving": 60,
        "personal_social": 60,
    }

    assert list(refused("asq3", domain_scores=scores, interval=24)) == [
        "domain_scores.communication"
    ]


def test_asq3_takes_responses_or_domain_scores_not_both():
    errors = refused(
        "asq3", responses=asq3_answers(), domain_scores={"communication": 60}, interval=24
    )

    assert errors == {"domain_scores": ["Give responses or domain_scores, not both."]}


def test_asq3_needs_an_interval_it_has():
    assert list(refused("asq3", responses=asq3_answers(), interval=None)) == ["interval"]
    assert list(refused("asq3", responses=asq3_answers(), interval=25)) == ["interval"]


# --- ASQ:SE-2 ------------------------------------------------------------------------------


def test_an_asqse2_total_at_the_cutoff_is_negative():
    result = scored("asqse2", domain_scores={"total": 65}, interval=24)  # cutoff 65.00

    assert result == Scored(
        total=65,
        domain_scores={"total": 65},
        zones=None,
        result="negative",
        referral_recommended=False,
        urgent=False,
    )


def test_an_asqse2_total_above_the_cutoff_is_positive():
    result = scored("asqse2", domain_scores={"total": 70}, interval=24)  # 70 > 65.00

    assert (result.total, result.result, result.referral_recommended) == (70, "positive", True)


def test_an_asqse2_cutoff_is_the_interval_s():
    # 70 is above the 12-month cutoff (45.00) and under the 60-month one (90.00).
    assert scored("asqse2", domain_scores={"total": 70}, interval=12).result == "positive"
    assert scored("asqse2", domain_scores={"total": 70}, interval=60).result == "negative"


def test_asqse2_responses_are_refused():
    errors = refused("asqse2", responses=["often"] * 20, interval=24)

    assert list(errors) == ["responses"]


@pytest.mark.parametrize("total", [67, -5, 70.0, "70", None])
def test_an_asqse2_total_is_an_integer_0_or_more_in_steps_of_5(total):
    errors = refused("asqse2", domain_scores={"total": total}, interval=24)

    assert list(errors) == ["domain_scores.total"]


def test_an_asqse2_total_with_another_domain_is_refused():
    errors = refused("asqse2", domain_scores={"total": 70, "communication": 10}, interval=24)

    assert list(errors) == ["domain_scores.communication"]


def test_an_asqse2_without_domain_scores_is_refused():
    assert list(refused("asqse2", interval=24)) == ["domain_scores"]


def test_the_refusal_is_a_value_error():
    with pytest.raises(ValueError, match="responses: phq9 takes 9 answers, not 2"):
        scored("phq9", responses=[0, 0])


# --- An instrument defined by its file alone -----------------------------------------------


def test_a_deployment_s_own_instrument_scores_by_its_file():
    # stress4 (tests/screenings/data/instruments): 4 items 0-4, positive at 8, item 4 urgent.
    assert scored("stress4", responses=[2, 2, 2, 1]).result == "negative"  # 7
    positive = scored("stress4", responses=[4, 4, 0, 0])  # 8

    assert (positive.total, positive.result, positive.urgent) == (8, "positive", False)
    assert scored("stress4", responses=[0, 0, 0, 1]).urgent  # item 4 above 0


def test_a_deployment_s_own_instrument_refuses_answers_outside_its_file():
    assert refused("stress4", responses=[0, 0, 0]) == {
        "responses": ["stress4 takes 4 answers, not 3."]
    }
    assert list(refused("stress4", responses=[5, 0, 0, 0])) == ["responses.0"]
