"""What a new password must not be: the person's own data, a common password, a guessable one.

NIST SP 800-63B: a new password is compared with passwords known to be common or
compromised, and with words specific to the user (name, birth date, citizen ID, phone).
The common list is the shipped Vietnamese list plus zxcvbn's 30,000 most common passwords;
guessability is zxcvbn's estimate (patterns: repeats, keyboard walks, l33t, dates).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache

from unidecode import unidecode
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from services.core.problems import Problem
from services.identity.config import PasswordSettings

MIN_NAME_PART = 3  # name parts shorter than this (An, Võ) are too common in words to refuse
ESTIMATE_PREFIX = 64  # zxcvbn's cost grows with length; a longer tail only adds strength

# The order in which rules are reported: the first one found is the problem's `rule`.
RULE_ORDER = (
    "too_short",
    "too_long",
    "contains_name",
    "contains_birth_date",
    "contains_citizen_id",
    "contains_phone",
    "contains_personal_data",
    "too_common",
    "too_predictable",
    "no_lowercase",
    "no_uppercase",
    "no_digit",
    "no_special",
)

RULE_MESSAGES: dict[str, str] = {
    "too_short": "Mật khẩu phải có ít nhất {min_length} ký tự.",
    "too_long": "Mật khẩu không được dài quá {max_length} ký tự.",
    "no_lowercase": "Mật khẩu phải có ít nhất một chữ thường.",
    "no_uppercase": "Mật khẩu phải có ít nhất một chữ in hoa.",
    "no_digit": "Mật khẩu phải có ít nhất một chữ số.",
    "no_special": "Mật khẩu phải có ít nhất một ký tự đặc biệt (ví dụ: ! @ # $ %).",
    "contains_name": "Mật khẩu không được chứa họ hoặc tên của bạn (kể cả khi viết không dấu).",
    "contains_birth_date": "Mật khẩu không được chứa ngày sinh hoặc năm sinh của bạn.",
    "contains_citizen_id": "Mật khẩu không được chứa số CMT/CCCD của bạn.",
    "contains_phone": "Mật khẩu không được chứa số điện thoại của bạn.",
    "contains_personal_data": (
        "Mật khẩu không được chứa thông tin cá nhân (tên đăng nhập, số CMT/CCCD, số điện thoại)."
    ),
    "too_common": "Mật khẩu này quá phổ biến, rất dễ bị đoán. Vui lòng chọn mật khẩu khác.",
    "too_predictable": (
        "Mật khẩu quá dễ đoán (ký tự lặp lại, dãy phím, dãy số hoặc mẫu quen thuộc như "
        "“Aa1!aaaa”). Vui lòng chọn mật khẩu dài hơn, ví dụ một câu ngắn dễ nhớ."
    ),
}

SPECIFIC_PERSONAL = (
    "contains_name",
    "contains_birth_date",
    "contains_citizen_id",
    "contains_phone",
)
_LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s"})
_LEET_L = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "l", "!": "i", "0": "o", "$": "s"})


@cache
def password_settings() -> PasswordSettings:
    return PasswordSettings.from_env()


@dataclass(frozen=True)
class Person:
    """What is known about the person whose password is being set."""

    full_name: str | None = None
    date_of_birth: date | None = None
    citizen_id: str | None = None
    phones: tuple[str, ...] = ()


def fold(text: str) -> str:
    """Lower case without diacritics: `Nguyễn Đức` -> `nguyen duc`."""
    return unidecode(text).casefold()


def name_parts(full_name: str | None) -> tuple[str, ...]:
    parts = (re.sub(r"[^a-z]", "", fold(p)) for p in (full_name or "").split())
    return tuple(dict.fromkeys(p for p in parts if len(p) >= MIN_NAME_PART))


def birth_date_forms(born: date | None) -> tuple[str, ...]:
    """ddmmyyyy, yyyymmdd, ddmmyy, ddmm and the year; the day and month also unpadded."""
    if born is None:
        return ()
    dd, mm, yyyy = f"{born.day:02d}", f"{born.month:02d}", f"{born.year:04d}"
    yy = yyyy[2:]
    d, m = str(born.day), str(born.month)
    forms = {
        dd + mm + yyyy,
        yyyy + mm + dd,
        dd + mm + yy,
        d + m + yyyy,
        yyyy + m + d,
        dd + mm,
        yyyy,
    }
    return tuple(sorted(forms, key=len, reverse=True))


def phone_forms(phone: str) -> tuple[str, ...]:
    """A phone in every form a person types it: +84912345678, 84912..., 0912..., 912..."""
    digits = re.sub(r"\D", "", phone)
    if not digits:
        return ()
    if digits.startswith("84") and len(digits) >= 11:
        local = digits[2:]
    elif digits.startswith("0"):
        local = digits[1:]
    else:
        local = digits
    return tuple(dict.fromkeys((digits, "84" + local, "0" + local, local)))


def _contains_any(haystacks: Iterable[str], needles: Iterable[str]) -> bool:
    needles = [n for n in needles if n]
    return any(n in h for h in haystacks for n in needles)


def personal_problems(password: str, person: Person) -> list[str]:
    """Which of the person's own data the password contains, as rule codes."""
    folded = fold(password)
    digits = re.sub(r"\D", "", password)
    texts = (folded, re.sub(r"[^a-z]", "", folded))
    numbers = (password, digits)
    problems = []
    if _contains_any(texts, name_parts(person.full_name)):
        problems.append("contains_name")
    if _contains_any(numbers, birth_date_forms(person.date_of_birth)):
        problems.append("contains_birth_date")
    if person.citizen_id and _contains_any(numbers, (person.citizen_id.strip(),)):
        problems.append("contains_citizen_id")
    if _contains_any(numbers, (f for p in person.phones for f in phone_forms(p))):
        problems.append("contains_phone")
    if problems:
        problems.append("contains_personal_data")  # the umbrella code of the first rule
    return problems


@cache
def zxcvbn_common() -> frozenset[str]:
    """zxcvbn's list of the 30,000 most common passwords."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common(password: str, shipped: frozenset[str]) -> bool:
    """On a list as it is, in any case, or with l33t substitutions undone (P@ssw0rd)."""
    lowered = password.casefold()
    forms = {lowered, lowered.translate(_LEET), lowered.translate(_LEET_L)}
    return any(f in shipped or f in zxcvbn_common() for f in forms)


def is_predictable(password: str, person: Person, settings: PasswordSettings) -> bool:
    """zxcvbn's guess estimate, told the person's words too, is under the minimum."""
    if settings.min_guesses_log10 <= 0:
        return False
    words = [*name_parts(person.full_name), *birth_date_forms(person.date_of_birth)]
    words += [w for w in (person.citizen_id, *person.phones) if w]
    estimate = zxcvbn(password[:ESTIMATE_PREFIX], user_inputs=words)
    return float(estimate["guesses_log10"]) < settings.min_guesses_log10


def ordered(rules: Iterable[str]) -> list[str]:
    found = set(rules)
    return [r for r in RULE_ORDER if r in found] + sorted(found - set(RULE_ORDER))


def message(rule: str, settings: PasswordSettings | None = None) -> str:
    settings = settings or password_settings()
    text = RULE_MESSAGES.get(rule, RULE_MESSAGES["too_predictable"])
    return text.format(min_length=settings.min_length, max_length=settings.max_length)


def weak_password(rules: list[str], settings: PasswordSettings | None = None) -> Problem:
    """422 weak_password naming the rules that failed, in Vietnamese, the first as `rule`."""
    rules = ordered(rules)
    shown = [r for r in rules if not (r == "contains_personal_data" and _has_specific(rules))]
    messages = [message(r, settings) for r in shown]
    return Problem(
        "weak_password",
        status=422,
        detail=messages[0],
        errors={"password": messages},
        rule=shown[0],
        rules=rules,
    )


def _has_specific(rules: list[str]) -> bool:
    return any(r in SPECIFIC_PERSONAL for r in rules)
