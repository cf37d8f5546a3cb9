"""Offline tablet sync: push a batch of changes, pull what changed in one's scope."""
