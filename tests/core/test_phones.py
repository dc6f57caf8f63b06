import pytest

from services.core.phones import InvalidPhone, mask_email, mask_phone, normalize_mobile


@pytest.mark.parametrize("raw", ["0912345678", "+84912345678", "84912345678", " 091 234 5678 "])
def test_accepted_forms_give_the_same_e164(raw: str) -> None:
    assert normalize_mobile(raw) == "+84912345678"


@pytest.mark.parametrize("raw", ["", "12345", "0241234567x", "+14155552671", "02438253535"])
def test_non_vietnamese_mobiles_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_mobile(raw)


def test_masks_hide_the_middle() -> None:
    assert mask_phone("+84912345678") == "091****678"
    assert mask_email("nguyenvana@example.vn") == "ng********@example.vn"
