"""Folding Vietnamese text: what the search index and the queries both go through."""

from __future__ import annotations

import pytest

from services.catalog.config import CatalogSettings
from services.catalog.folding import fold, folded_text, folded_words
from services.core.config import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Đăng ký khai sinh", "dang ky khai sinh"),
        ("ĐĂNG KÝ KHAI SINH", "dang ky khai sinh"),
        ("Thủ tục cấp Phiếu lý lịch tư pháp", "thu tuc cap phieu ly lich tu phap"),
        ("Hộ kinh doanh; (cấp huyện)", "ho kinh doanh cap huyen"),
        ("Sở Tài nguyên và Môi trường", "so tai nguyen va moi truong"),
    ],
)
def test_folding_drops_case_and_diacritics_and_maps_d_stroke(text: str, expected: str) -> None:
    assert folded_text(text) == expected


def test_words_are_split_on_anything_but_letters_and_digits() -> None:
    assert folded_words("giấy-phép xây dựng/2024") == ["giay", "phep", "xay", "dung", "2024"]
    assert fold("đ") == "d"


def test_limits_come_from_the_environment_with_safe_defaults() -> None:
    assert CatalogSettings.from_env({}) == CatalogSettings()
    limits = CatalogSettings.from_env({"CATALOG_MAX_PER_PAGE": "50"})
    assert limits.max_per_page == 50
    with pytest.raises(ConfigError):
        CatalogSettings.from_env({"CATALOG_MAX_PER_PAGE": "0"})
    with pytest.raises(ConfigError):
        CatalogSettings.from_env({"CATALOG_MAX_PER_PAGE": "10", "CATALOG_DEFAULT_PER_PAGE": "20"})
