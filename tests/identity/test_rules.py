"""The pure rules: citizen ID shape, the password rule, name comparison."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from services.core.config import ConfigError
from services.identity.carrier import Subscriber, matches
from services.identity.citizen_ids import PROVINCE_CODES, citizen_id_errors
from services.identity.config import Argon2Parameters, IdentityConfig
from services.identity.passwords import PasswordHashing, password_problems


@pytest.mark.parametrize(
    ("citizen_id", "born", "gender", "errors"),
    [
        ("038085001234", date(1985, 3, 12), "male", []),
        ("038185001234", date(1985, 3, 12), "female", []),
        ("042200006789", date(2000, 5, 15), "male", []),
        ("042305000123", date(2005, 2, 28), "female", []),
        ("038285001234", date(1985, 3, 12), "male", ["citizen_id_gender_century"]),
        ("038086001234", date(1985, 3, 12), "male", ["citizen_id_birth_year"]),
        ("099085001234", date(1985, 3, 12), "male", ["citizen_id_province"]),
        ("123456789", date(1985, 3, 12), "male", []),
        ("03808500123", date(1985, 3, 12), "male", ["citizen_id_format"]),
        ("０３８０８５００１２３４", date(1985, 3, 12), "male", ["citizen_id_format"]),
    ],
)
def test_citizen_id_rules(citizen_id: str, born: date, gender: str, errors: list[str]) -> None:
    assert citizen_id_errors(citizen_id, born, gender) == errors


def test_province_codes_hold_the_63_provinces() -> None:
    assert len(PROVINCE_CODES) == 63 and {"038", "042", "001", "079"} <= PROVINCE_CODES


def test_password_rule() -> None:
    assert password_problems("Sao#Mai2026xy") == []
    assert password_problems("Xin chào Việt Nam 1!") == []  # diacritics are letters
    assert password_problems("Xin chào Việt Nam 1") == ["no_special"]  # a space is not special
    assert "too_common" in password_problems("Admin@123")
    assert password_problems("Ab#1" + "038085001234", forbidden=("038085001234",)) == [
        "contains_personal_data"
    ]


def test_names_match_without_case_and_extra_spaces() -> None:
    sub = Subscriber("+84912345678", "038085001234", "Nguyễn Văn An", date(1985, 3, 12))
    assert matches(sub, "038085001234", "  NGUYỄN  văn an", date(1985, 3, 12))
    assert not matches(sub, "038085001234", "Nguyen Van An", date(1985, 3, 12))
    assert not matches(sub, "038085001235", "Nguyễn Văn An", date(1985, 3, 12))
    assert not matches(None, "038085001234", "Nguyễn Văn An", date(1985, 3, 12))


def test_argon2_runs_at_most_the_configured_number_of_hashes_at_once() -> None:
    hashing = PasswordHashing(Argon2Parameters(time_cost=1, memory_cost_kib=64), concurrency=1)
    digest = hashing.hash("Mật-khẩu#2026")
    done = threading.Event()
    with hashing._slots:  # the one slot is taken: a verify must wait for it
        worker = threading.Thread(
            target=lambda: done.set() if hashing.verify(digest, "Mật-khẩu#2026") else None
        )
        worker.start()
        assert not done.wait(0.3)
    assert done.wait(5)
    worker.join()


def test_argon2_concurrency_is_configuration() -> None:
    config = IdentityConfig.from_env({"IDENTITY_ARGON2_CONCURRENCY": "3"})
    assert config.argon2.concurrency == 3
    assert IdentityConfig.from_env({}).argon2.concurrency >= 1
    with pytest.raises(ConfigError):
        IdentityConfig.from_env({"IDENTITY_ARGON2_CONCURRENCY": "0"})
