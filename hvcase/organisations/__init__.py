"""Agencies: the lead agency of a coalition and its member agencies."""
