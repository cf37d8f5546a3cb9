"""argon2id password hashing (OWASP parameters), rehashed on login when they change."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST
from flask import current_app

# OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane.
OWASP = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# For the test suite only: the cheapest parameters argon2 allows.
TESTING = PasswordHasher.from_parameters(CHEAPEST)

MIN_LENGTH, MAX_LENGTH = 12, 128


def _hasher() -> PasswordHasher:
    return TESTING if current_app.config["PASSWORD_HASH_PROFILE"] == "cheapest" else OWASP


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


# A hash to verify against when the email is unknown, so both cases cost the same time.
_decoy: dict[str, str] = {}


def burn_time(password: str) -> None:
    """Spend the time a real verification would, for an unknown or inactive account."""
    profile = current_app.config["PASSWORD_HASH_PROFILE"]
    if profile not in _decoy:
        _decoy[profile] = _hasher().hash("decoy-password-never-valid")
    verify_password(_decoy[profile], password)
