"""Families: enrollment, caregivers and children, assignment, discharge and re-enrollment."""
