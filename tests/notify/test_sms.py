"""SMS text: diacritics stripping for GSM-7 and the segment count."""

from __future__ import annotations

import pytest

from services.notify.sms import count_segments, prepare_sms, strip_diacritics


def test_strip_diacritics_keeps_d_right() -> None:
    text = "Đăng ký khai sinh đã được tiếp nhận. ĐẶNG Thị Hường, Đà Nẵng"
    assert strip_diacritics(text) == (
        "Dang ky khai sinh da duoc tiep nhan. DANG Thi Huong, Da Nang"
    )


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("[" * 80, "gsm7", 1),  # extended characters count twice
        ("[" * 81, "gsm7", 2),
        ("ư" * 70, "ucs2", 1),
        ("ư" * 71, "ucs2", 2),
        ("ư" * 134, "ucs2", 2),
        ("ư" * 135, "ucs2", 3),
    ],
)
def test_segments(text: str, encoding: str, segments: int) -> None:
    assert count_segments(text) == (encoding, segments)


def test_stripping_turns_a_ucs2_message_into_fewer_gsm_segments() -> None:
    text = "Hồ sơ H38.01-261122-0001 (Đăng ký khai sinh) đã được gửi thành công. " * 2
    kept = prepare_sms(text, strip=False)
    stripped = prepare_sms(text, strip=True)
    assert kept.encoding == "ucs2" and kept.text == text
    assert stripped.encoding == "gsm7"
    assert stripped.segments < kept.segments
    assert "(Dang ky khai sinh) da duoc gui thanh cong" in stripped.text
