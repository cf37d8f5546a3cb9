"""Liveness of the app, its database and its workers."""
