"""SMS text: optional diacritics stripping for GSM-7, and segment counting."""

from __future__ import annotations

from dataclasses import dataclass

from unidecode import unidecode

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsText:
    text: str
    encoding: str  # "gsm7" or "ucs2"
    segments: int


def strip_diacritics(text: str) -> str:
    """'Hồ sơ đã được gửi' -> 'Ho so da duoc gui' (đ/Đ become d/D)."""
    return unidecode(text.replace("đ", "d").replace("Đ", "D"))


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def count_segments(text: str) -> tuple[str, int]:
    """(encoding, segments): GSM-7 160 alone or 153 per part; UCS-2 70 alone or 67."""
    if is_gsm7(text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, part = 160, 153
        encoding = "gsm7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
        encoding = "ucs2"
    if units <= single:
        return encoding, 1
    return encoding, -(-units // part)


def prepare_sms(text: str, *, strip: bool) -> SmsText:
    """The text to send and what it costs."""
    final = strip_diacritics(text) if strip else text
    encoding, segments = count_segments(final)
    return SmsText(final, encoding, segments)
