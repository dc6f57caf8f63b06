"""The password rule of the seed portals, and argon2id hashing."""

from __future__ import annotations

import string
import threading
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from services.identity.config import Argon2Parameters, PasswordSettings
from services.identity.password_rules import (
    Person,
    is_common,
    is_predictable,
    password_settings,
    personal_problems,
)

MIN_LENGTH = 8  # the default; IDENTITY_PASSWORD_MIN_LENGTH raises it
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of passwords too common to allow, lower-cased."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().casefold() for line in lines if line.strip() and not line.startswith("#")
    )


def password_problems(
    password: str,
    *,
    forbidden: tuple[str, ...] = (),
    person: Person | None = None,
    settings: PasswordSettings | None = None,
) -> list[str]:
    """What the password lacks, as stable codes; empty when it passes the rule.

    `forbidden` holds strings the password must not contain (a staff username);
    `person` the citizen's own data: name, birth date, citizen ID and phones.
    """
    settings = settings or password_settings()
    problems = []
    if len(password) < settings.min_length:
        problems.append("too_short")
    if len(password) > settings.max_length:
        problems.append("too_long")
    if not any(c.islower() for c in password):
        problems.append("no_lowercase")
    if not any(c.isupper() for c in password):
        problems.append("no_uppercase")
    if not any(c.isdigit() for c in password):
        problems.append("no_digit")
    if not any(c in string.punctuation or not (c.isalnum() or c.isspace()) for c in password):
        problems.append("no_special")
    if any(item and item in password for item in forbidden):
        problems.append("contains_personal_data")
    person = person or Person()
    for rule in personal_problems(password, person):
        if rule not in problems:
            problems.append(rule)
    if is_common(password, common_passwords()):
        problems.append("too_common")
    elif len(password) <= settings.max_length and is_predictable(password, person, settings):
        problems.append("too_predictable")
    return problems


class PasswordHashing:
    """argon2id with configured cost; verifies against a dummy hash for unknown accounts."""

    def __init__(self, parameters: Argon2Parameters, concurrency: int = 1) -> None:
        # Each hash holds memory_cost of RAM and a core; more at once than the process's
        # share of cores only thrashes the caches and starves the request threads.
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._hasher = PasswordHasher(
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_cost_kib,
            parallelism=parameters.parallelism,
            type=Type.ID,
        )
        # Same cost as a real hash, so an unknown username takes as long as a wrong password.
        self._dummy = self._hasher.hash("unknown-account-dummy-password")

    def hash(self, password: str) -> str:
        with self._slots:
            return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when it matches; always spends one hash's time, also without an account."""
        try:
            with self._slots:
                matches = self._hasher.verify(password_hash or self._dummy, password)
            return matches and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
