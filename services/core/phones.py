"""Vietnamese mobile numbers: parse any accepted form to E.164, and mask for display."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType


class InvalidPhone(ValueError):
    """Not a Vietnamese mobile number."""


def normalize_mobile(raw: str, region: str = "VN") -> str:
    """'0912345678', '+84912345678', '84 912 345 678' -> '+84912345678'."""
    text = (raw or "").strip()
    if text.startswith("84") and not text.startswith("+"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidPhone(str(exc)) from exc
    if not phonenumbers.is_valid_number(number) or number.country_code != 84:
        raise InvalidPhone(f"not a valid Vietnamese number: {raw!r}")
    if phonenumbers.number_type(number) not in (
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidPhone(f"not a mobile number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """'+84912345678' -> '091****678': enough to recognise, not to reuse."""
    national = "0" + e164[3:] if e164.startswith("+84") else e164
    if len(national) < 7:
        return "*" * len(national)
    return national[:3] + "*" * (len(national) - 6) + national[-3:]


def mask_email(email: str) -> str:
    """'nguyenvana@example.vn' -> 'ng********@example.vn'."""
    local, _, domain = email.partition("@")
    if not domain:
        return "*" * len(email)
    keep = local[:2] if len(local) > 2 else local[:1]
    return keep + "*" * max(1, len(local) - len(keep)) + "@" + domain
