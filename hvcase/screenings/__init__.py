"""Developmental screenings, caregiver screens and observations."""
