"""The observation codes are a data file checked when it is loaded (API.md's table of codes,
subjects and value types), and an observation's code, subject and value are checked against
it: a wrong one is a 422 naming ``code``, ``subject_id`` or ``value`` (``value.<field>`` inside
``birth``), nothing when it is right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hvcase.families.codes import RELATIONSHIPS
from hvcase.screenings.instruments import DataFileError
from hvcase.screenings.observation_codes import (
    OBSERVATION_CODES_FILE,
    check_observation,
    load_observation_codes,
)

CODES = load_observation_codes()

BOOLEAN_ERROR = "Not a valid boolean: use true or false."
INTEGER_ERROR = "Not a valid integer."
INSURANCE_ERROR = "Must be one of: medicaid_chip, private, tricare, none, other, unknown."
MALTREATMENT_ERROR = "Must be one of: screened_in, screened_out."
EDUCATION_ERROR = (
    "Must be one of: not_enrolled, enrolled_secondary, completed_secondary, enrolled_postsecondary."
)
LANGUAGE_RANGE_ERROR = "Must be greater than or equal to 0 and less than or equal to 7."
WEEKS_RANGE_ERROR = "Must be greater than or equal to 20 and less than or equal to 44."
MOTHER = "a caregiver whose relationship is mother"


def check(code: str, value, subject_kind=None, subject_relationship=None, table=CODES) -> dict:
    return check_observation(
        table,
        code=code,
        value=value,
        subject_kind=subject_kind,
        subject_relationship=subject_relationship,
    )


def write_codes(folder: Path, body: dict | str) -> Path:
    path = folder / "observation_codes.json"
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return path


def refused_file(tmp_path: Path, body: dict | str) -> DataFileError:
    path = write_codes(tmp_path, body)
    with pytest.raises(DataFileError) as caught:
        load_observation_codes(path)
    assert caught.value.path == path
    assert str(path) in str(caught.value)
    return caught.value


def one_code(value: dict, subject: dict | None = None) -> dict:
    """A file of one code, ``x``, with the given value rule (and a child subject by default)."""
    return {"x": {"subject": subject or {"kind": "child"}, "value": value}}


# --- What ships ----------------------------------------------------------------------------


def test_the_package_file_holds_the_thirteen_codes_of_the_api_with_their_subjects():
    # API.md's table, row by row: (subject, "or none").
    assert {code: (c.subject, c.subject_optional) for code, c in CODES.items()} == {
        "well_child_visit": ("child", False),
        "postpartum_visit": ("mother", True),
        "breastfeeding": ("child", False),
        "safe_sleep": ("child", False),
        "tobacco_use": ("caregiver", True),
        "tobacco_cessation_referral": ("caregiver", True),
        "health_insurance": ("caregiver", False),
        "ed_visit_injury": ("child", False),
        "maltreatment_report": ("child", False),
        "education_enrollment": ("caregiver", False),
        "early_language_activity": ("child", False),
        "parent_child_interaction": ("caregiver", True),
        "birth": ("child", False),
    }


def test_the_package_file_declares_each_code_s_value_type():
    assert {code: c.value.type for code, c in CODES.items()} == {
        "well_child_visit": "boolean",
        "postpartum_visit": "boolean",
        "breastfeeding": "boolean",
        "safe_sleep": "boolean",
        "tobacco_use": "boolean",
        "tobacco_cessation_referral": "true_only",
        "health_insurance": "code",
        "ed_visit_injury": "boolean",
        "maltreatment_report": "code",
        "education_enrollment": "code",
        "early_language_activity": "integer",
        "parent_child_interaction": "text",
        "birth": "object",
    }


def test_health_insurance_takes_the_family_insurance_codes_by_the_list_s_name():
    insurance = CODES["health_insurance"].value

    assert insurance.codes_list == "INSURANCE"
    assert insurance.codes == ("medicaid_chip", "private", "tricare", "none", "other", "unknown")


def test_birth_needs_completed_weeks_and_may_give_days_and_weight():
    fields = CODES["birth"].value.fields

    assert {name: (f.required, f.minimum, f.maximum) for name, f in fields.items()} == {
        "gestational_age_weeks": (True, 20, 44),
        "gestational_age_days": (False, 0, 6),
        "birth_weight_grams": (False, 300, 6500),
    }


def test_a_mother_is_a_caregiver_relationship_code_of_the_families():
    assert "mother" in RELATIONSHIPS


def test_the_default_file_is_the_package_s():
    assert OBSERVATION_CODES_FILE.name == "observation_codes.json"
    assert OBSERVATION_CODES_FILE.parent.name == "data"
    assert load_observation_codes(OBSERVATION_CODES_FILE) == CODES


# --- Every code accepted with a right value and subject ------------------------------------


@pytest.mark.parametrize(
    ("code", "value", "subject_kind", "subject_relationship"),
    [
        ("well_child_visit", True, "child", None),
        ("well_child_visit", False, "child", None),
        ("postpartum_visit", True, "caregiver", "mother"),
        ("postpartum_visit", False, None, None),
        ("breastfeeding", True, "child", None),
        ("breastfeeding", False, "child", None),
        ("safe_sleep", True, "child", None),
        ("tobacco_use", False, "caregiver", "father"),
        ("tobacco_use", True, None, None),
        ("tobacco_cessation_referral", True, "caregiver", "grandparent"),
        ("tobacco_cessation_referral", True, None, None),
        ("health_insurance", "medicaid_chip", "caregiver", "mother"),
        ("health_insurance", "none", "caregiver", "father"),
        ("ed_visit_injury", False, "child", None),
        ("maltreatment_report", "screened_in", "child", None),
        ("maltreatment_report", "screened_out", "child", None),
        ("education_enrollment", "enrolled_postsecondary", "caregiver", "guardian"),
        ("early_language_activity", 0, "child", None),
        ("early_language_activity", 7, "child", None),
        ("parent_child_interaction", "PICCOLO", "caregiver", "mother"),
        ("parent_child_interaction", "NCAST", None, None),
        ("parent_child_interaction", "x" * 100, None, None),
        ("birth", {"gestational_age_weeks": 39}, "child", None),
        (
            "birth",
            {"gestational_age_weeks": 34, "gestational_age_days": 5, "birth_weight_grams": 2100},
            "child",
            None,
        ),
    ],
)
def test_an_observation_with_a_right_value_and_subject_has_no_errors(
    code, value, subject_kind, subject_relationship
):
    assert check(code, value, subject_kind, subject_relationship) == {}


# --- A wrong value names "value" -----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "value", "subject_kind", "message"),
    [
        ("well_child_visit", 1, "child", BOOLEAN_ERROR),  # 0/1 is not a JSON boolean
        ("postpartum_visit", "true", None, BOOLEAN_ERROR),
        ("breastfeeding", 0, "child", BOOLEAN_ERROR),
        ("safe_sleep", None, "child", "Field may not be null."),
        ("tobacco_use", "false", None, BOOLEAN_ERROR),
        ("tobacco_cessation_referral", False, None, "Must be true."),
        ("tobacco_cessation_referral", 1, None, "Must be true."),
        ("health_insurance", "medicaid", "caregiver", INSURANCE_ERROR),
        ("health_insurance", True, "caregiver", INSURANCE_ERROR),
        ("ed_visit_injury", "yes", "child", BOOLEAN_ERROR),
        ("maltreatment_report", True, "child", MALTREATMENT_ERROR),
        ("maltreatment_report", "substantiated", "child", MALTREATMENT_ERROR),
        ("education_enrollment", "enrolled", "caregiver", EDUCATION_ERROR),
        ("early_language_activity", 3.0, "child", INTEGER_ERROR),  # a fraction, even a whole one
        ("early_language_activity", True, "child", INTEGER_ERROR),  # a boolean is not an integer
        ("early_language_activity", "3", "child", INTEGER_ERROR),
        ("early_language_activity", 8, "child", LANGUAGE_RANGE_ERROR),  # a week has 7 days
        ("early_language_activity", -1, "child", LANGUAGE_RANGE_ERROR),
        ("parent_child_interaction", 5, None, "Not a valid string."),
        ("parent_child_interaction", "", None, "Must not be blank."),
        ("parent_child_interaction", "   ", None, "Must not be blank."),
        ("parent_child_interaction", "x" * 101, None, "Longer than maximum length 100."),
        ("birth", 39, "child", "Not a valid object."),
        ("birth", [39, 2], "child", "Not a valid object."),
        ("birth", None, "child", "Field may not be null."),
    ],
)
def test_a_value_of_the_wrong_type_for_its_code_is_refused_naming_value(
    code, value, subject_kind, message
):
    assert check(code, value, subject_kind) == {"value": [message]}


# --- A wrong subject names "subject_id" ----------------------------------------------------


@pytest.mark.parametrize(
    ("code", "value", "subject_kind", "subject_relationship", "message"),
    [
        ("well_child_visit", True, "caregiver", "mother", "Must be a child: "),
        ("postpartum_visit", True, "child", None, f"Must be {MOTHER}, or left out: "),
        ("breastfeeding", True, "caregiver", "mother", "Must be a child: "),
        ("safe_sleep", True, "caregiver", "father", "Must be a child: "),
        ("tobacco_use", True, "child", None, "Must be a caregiver, or left out: "),
        ("tobacco_cessation_referral", True, "child", None, "Must be a caregiver, or left out: "),
        ("health_insurance", "private", "child", None, "Must be a caregiver: "),
        ("ed_visit_injury", True, "caregiver", "mother", "Must be a child: "),
        ("maltreatment_report", "screened_in", "caregiver", "mother", "Must be a child: "),
        ("education_enrollment", "not_enrolled", "child", None, "Must be a caregiver: "),
        ("early_language_activity", 4, "caregiver", "father", "Must be a child: "),
        ("parent_child_interaction", "KIPS", "child", None, "Must be a caregiver, or left out: "),
        ("birth", {"gestational_age_weeks": 39}, "caregiver", "mother", "Must be a child: "),
    ],
)
def test_a_subject_of_the_wrong_kind_is_refused_naming_subject_id(
    code, value, subject_kind, subject_relationship, message
):
    errors = check(code, value, subject_kind, subject_relationship)

    assert list(errors) == ["subject_id"]
    assert len(errors["subject_id"]) == 1
    assert errors["subject_id"][0].startswith(message)


def test_the_message_says_who_the_code_is_about():
    assert check("breastfeeding", True, "caregiver", "mother") == {
        "subject_id": ["Must be a child: breastfeeding is about a child."]
    }


@pytest.mark.parametrize(
    ("code", "value", "who"),
    [
        ("well_child_visit", True, "a child"),
        ("breastfeeding", False, "a child"),
        ("safe_sleep", True, "a child"),
        ("health_insurance", "tricare", "a caregiver"),
        ("ed_visit_injury", True, "a child"),
        ("maltreatment_report", "screened_out", "a child"),
        ("education_enrollment", "completed_secondary", "a caregiver"),
        ("early_language_activity", 3, "a child"),
        ("birth", {"gestational_age_weeks": 40}, "a child"),
    ],
)
def test_a_subject_missing_where_the_code_requires_one_is_refused(code, value, who):
    assert check(code, value, None, None) == {
        "subject_id": [f"Missing data for required field: {code} is about {who}."]
    }


def test_a_postpartum_visit_of_a_father_is_refused():
    assert check("postpartum_visit", True, "caregiver", "father") == {
        "subject_id": [f"Must be {MOTHER}, or left out: postpartum_visit is about {MOTHER}."]
    }


@pytest.mark.parametrize("relationship", ["grandparent", "foster_parent", "guardian", None])
def test_a_postpartum_visit_is_only_a_mother_s(relationship):
    assert list(check("postpartum_visit", False, "caregiver", relationship)) == ["subject_id"]


def test_a_wrong_subject_and_a_wrong_value_are_both_named():
    assert check("early_language_activity", 9, "caregiver", "mother") == {
        "subject_id": ["Must be a child: early_language_activity is about a child."],
        "value": [LANGUAGE_RANGE_ERROR],
    }


def test_a_subject_given_where_the_code_allows_none_is_refused(tmp_path):
    path = write_codes(
        tmp_path,
        {"home_visit_note": {"subject": {"kind": "none"}, "value": {"type": "boolean"}}},
    )
    table = load_observation_codes(path)

    assert check("home_visit_note", True, None, None, table=table) == {}
    assert check("home_visit_note", True, "caregiver", "mother", table=table) == {
        "subject_id": ["Must be left out: home_visit_note is recorded for no one."]
    }
    assert list(check("home_visit_note", True, "child", None, table=table)) == ["subject_id"]


# --- The code ------------------------------------------------------------------------------


def test_an_unknown_code_is_refused_naming_code_and_the_known_ones():
    assert check("bedtime_story", True, "child") == {
        "code": [
            "Not an observation code: one of birth, breastfeeding, early_language_activity, "
            "ed_visit_injury, education_enrollment, health_insurance, maltreatment_report, "
            "parent_child_interaction, postpartum_visit, safe_sleep, tobacco_cessation_referral, "
            "tobacco_use, well_child_visit."
        ]
    }


def test_a_code_that_is_not_a_string_is_an_unknown_code():
    assert list(check(["birth"], True, "child")) == ["code"]


def test_a_subject_kind_other_than_child_caregiver_or_none_is_a_programming_error():
    with pytest.raises(ValueError, match="subject_kind"):
        check("breastfeeding", True, "mother")


# --- birth ---------------------------------------------------------------------------------


def test_a_birth_with_a_key_of_its_own_is_refused_naming_the_key():
    value = {"gestational_age_weeks": 39, "length_cm": 50, "apgar": 9}

    assert check("birth", value, "child") == {
        "value.length_cm": ["Unknown field."],
        "value.apgar": ["Unknown field."],
    }


@pytest.mark.parametrize("weeks", [19, 45])
def test_a_birth_with_weeks_out_of_20_to_44_is_refused(weeks):
    assert check("birth", {"gestational_age_weeks": weeks}, "child") == {
        "value.gestational_age_weeks": [WEEKS_RANGE_ERROR]
    }


def test_a_birth_at_the_bounds_is_accepted():
    low = {"gestational_age_weeks": 20, "gestational_age_days": 0, "birth_weight_grams": 300}
    high = {"gestational_age_weeks": 44, "gestational_age_days": 6, "birth_weight_grams": 6500}

    assert check("birth", low, "child") == {}
    assert check("birth", high, "child") == {}


def test_a_birth_with_days_but_no_weeks_is_refused():
    # Gestational age is completed weeks plus days (DESIGN.md): days alone say nothing.
    assert check("birth", {"gestational_age_days": 3}, "child") == {
        "value.gestational_age_weeks": ["Missing data for required field."]
    }


def test_a_birth_with_null_weeks_is_refused():
    assert check("birth", {"gestational_age_weeks": None}, "child") == {
        "value.gestational_age_weeks": ["Field may not be null."]
    }


def test_a_birth_s_optional_fields_may_be_null_meaning_none():
    value = {"gestational_age_weeks": 38, "gestational_age_days": None, "birth_weight_grams": None}

    assert check("birth", value, "child") == {}


def test_a_birth_with_seven_days_or_a_weight_out_of_range_names_each_field():
    value = {"gestational_age_weeks": 36, "gestational_age_days": 7, "birth_weight_grams": 299}

    assert check("birth", value, "child") == {
        "value.gestational_age_days": [
            "Must be greater than or equal to 0 and less than or equal to 6."
        ],
        "value.birth_weight_grams": [
            "Must be greater than or equal to 300 and less than or equal to 6500."
        ],
    }


def test_a_birth_s_weeks_must_be_a_json_integer():
    assert check("birth", {"gestational_age_weeks": 39.0}, "child") == {
        "value.gestational_age_weeks": [INTEGER_ERROR]
    }
    assert check("birth", {"gestational_age_weeks": "39"}, "child") == {
        "value.gestational_age_weeks": [INTEGER_ERROR]
    }


# --- A malformed file is refused naming the file and the field -----------------------------


def test_a_file_that_is_not_json_is_refused(tmp_path):
    error = refused_file(tmp_path, "{not json")

    assert list(error.errors) == ["file"]
    assert error.errors["file"][0].startswith("Not valid JSON: ")


def test_a_file_that_is_not_an_object_of_codes_is_refused(tmp_path):
    error = refused_file(tmp_path, [{"code": "breastfeeding"}])

    assert error.errors == {"file": ["Must be a JSON object of observation codes."]}


def test_a_code_defined_twice_is_refused(tmp_path):
    body = (
        '{"x": {"subject": {"kind": "child"}, "value": {"type": "boolean"}},'
        ' "x": {"subject": {"kind": "caregiver"}, "value": {"type": "boolean"}}}'
    )

    error = refused_file(tmp_path, body)

    assert error.errors == {"file": ["The key x appears twice in one object."]}


def test_a_subject_of_an_unknown_kind_is_refused(tmp_path):
    error = refused_file(tmp_path, one_code({"type": "boolean"}, subject={"kind": "father"}))

    assert error.errors == {"x.subject.kind": ["Must be one of: child, caregiver, mother, none."]}


def test_an_unknown_value_type_is_refused(tmp_path):
    error = refused_file(tmp_path, one_code({"type": "date"}))

    assert error.errors == {
        "x.value.type": ["Must be one of: boolean, true_only, code, integer, text, object."]
    }


def test_an_integer_without_its_max_is_refused(tmp_path):
    error = refused_file(tmp_path, one_code({"type": "integer", "min": 0}))

    assert error.errors == {"x.value.max": ["Missing data for required field."]}


def test_an_integer_range_upside_down_is_refused(tmp_path):
    error = refused_file(tmp_path, one_code({"type": "integer", "min": 7, "max": 0}))

    assert error.errors == {"x.value.max": ["Must be at least min."]}


def test_a_key_the_value_type_does_not_take_is_refused(tmp_path):
    error = refused_file(tmp_path, one_code({"type": "boolean", "max_length": 5}))

    assert error.errors == {"x.value.max_length": ["A boolean value takes no max_length."]}


def test_a_code_list_the_families_do_not_have_is_refused(tmp_path):
    error = refused_file(tmp_path, one_code({"type": "code", "codes": "INSURANCES"}))

    assert list(error.errors) == ["x.value.codes"]
    assert error.errors["x.value.codes"][0].startswith(
        "Not a code list of hvcase.families.codes: one of "
    )
    assert "INSURANCE," in error.errors["x.value.codes"][0]


def test_a_code_in_a_list_that_is_not_a_code_is_refused_naming_its_place(tmp_path):
    error = refused_file(tmp_path, one_code({"type": "code", "codes": ["yes", "No way", 3]}))

    assert error.errors == {
        "x.value.codes.1": ["Use 1 to 32 lowercase letters, digits or _, from a letter."],
        "x.value.codes.2": ["Not a valid string."],
    }


def test_a_bad_field_of_an_object_value_is_named_by_its_path(tmp_path):
    value = {
        "type": "object",
        "fields": {
            "weeks": {"type": "integer", "min": 20, "max": "44", "required": True},
            "inner": {"type": "object", "fields": {"a": {"type": "boolean"}}},
        },
    }

    error = refused_file(tmp_path, one_code(value))

    assert error.errors == {
        "x.value.fields.weeks.max": ["Not a valid integer."],
        "x.value.fields.inner.type": ["A field of an object value is not an object."],
    }


def test_a_key_the_format_does_not_have_is_refused(tmp_path):
    body = {"x": {"subject": {"kind": "child"}, "value": {"type": "boolean"}, "reading": "event"}}

    error = refused_file(tmp_path, body)

    assert error.errors == {"x.reading": ["Unknown field."]}


def test_a_code_name_in_another_notation_is_refused(tmp_path):
    body = {"Well Child": {"subject": {"kind": "child"}, "value": {"type": "boolean"}}}

    error = refused_file(tmp_path, body)

    assert error.errors == {
        "Well Child": ["Use 1 to 32 lowercase letters, digits or _, from a letter."]
    }


def test_a_subject_that_is_never_given_cannot_be_optional(tmp_path):
    error = refused_file(
        tmp_path, one_code({"type": "boolean"}, subject={"kind": "none", "optional": True})
    )

    assert error.errors == {
        "x.subject.optional": ["A subject of kind none is never given: leave it out."]
    }
