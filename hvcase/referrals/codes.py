"""Referral codes of API.md."""

CATEGORIES = (
    "early_intervention",
    "mental_health",
    "ipv",
    "substance_use",
    "primary_care",
    "prenatal_care",
    "wic",
    "snap",
    "housing",
    "child_care",
    "employment",
    "education",
    "parenting",
    "legal",
    "other",
)
