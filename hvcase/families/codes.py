"""The family codes of API.md."""

RELATIONSHIPS = (
    "mother",
    "father",
    "grandparent",
    "foster_parent",
    "guardian",
    "child_care_provider",
    "other",
)
SEXES = ("F", "M", "X", "U")
RISK_FACTORS = (
    "low_income",
    "pregnant_under_21",
    "child_welfare_history",
    "substance_use",
    "tobacco_in_home",
    "low_student_achievement",
    "child_developmental_delay",
    "military_family",
    "other",
)
REFERRAL_SOURCES = (
    "hospital",
    "clinic",
    "wic",
    "child_welfare",
    "school",
    "community_agency",
    "self",
    "family_or_friend",
    "other",
)
EDUCATION = (
    "less_than_high_school",
    "high_school_or_ged",
    "some_college_or_training",
    "technical_certificate",
    "associate_degree",
    "bachelor_or_higher",
    "unknown",
)
EMPLOYMENT = ("full_time", "part_time", "not_employed", "unknown")
INSURANCE = ("medicaid_chip", "private", "tricare", "none", "other", "unknown")
DISCHARGE_REASONS = (
    "completed_program",
    "moved",
    "declined_services",
    "unable_to_locate",
    "child_aged_out",
    "transferred",
    "other",
)
STATUSES = ("enrolled", "discharged")
ATTENTION_REASONS = ("no_visit_30d", "screening_overdue", "referral_overdue", "urgent_screening")
# USPS two-letter codes: the states, DC, and the territories and military "states".
US_STATES = ["AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI", "UM", "AA", "AE", "AP"]
