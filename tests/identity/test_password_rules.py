"""Passwords (issue 18, point 9): the person's own data, common and predictable passwords are
refused, and the problem says which rule failed, in Vietnamese."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.identity.config import PasswordSettings
from services.identity.password_rules import (
    Person,
    birth_date_forms,
    zxcvbn_common,
)
from services.identity.passwords import common_passwords, password_problems
from tests.identity.conftest import Carrier, IdentityDb
from tests.identity.flows import AN, API, PASSWORD, make_citizen, register, start_registration

KIEM = Person(
    full_name="Trần Văn Kiếm",
    date_of_birth=date(1992, 4, 7),
    citizen_id="038092001234",
    phones=("+84912345678",),
)


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Kiem@1992", "contains_name"),  # given name + birth year, the example
        ("KIẾM#trong2026", "contains_name"),  # with diacritics, in another case
        ("xTran!Hoa2026q", "contains_name"),  # the family name without diacritics
        ("Mua#Xuan1992z", "contains_birth_date"),  # the year
        ("Mua#Xuan07041992", "contains_birth_date"),  # ddmmyyyy
        ("Mua#Xuan19920407", "contains_birth_date"),  # yyyymmdd
        ("Mua#Xuan0704!qz", "contains_birth_date"),  # ddmm
        ("Mua#Xuan07-04-92", "contains_birth_date"),  # with separators
        ("Mua#Xuan038092001234", "contains_citizen_id"),
        ("Mua#Xuan0912345678", "contains_phone"),  # national form
        ("Mua#Xuan84912345678", "contains_phone"),  # international, without the plus
        ("Mua#Xuan912345678", "contains_phone"),  # the subscriber number
    ],
)
def test_the_persons_own_data_is_refused(password: str, rule: str) -> None:
    problems = password_problems(password, person=KIEM)
    assert rule in problems and "contains_personal_data" in problems, problems
    assert password_problems(password, person=Person()) == [] or rule not in password_problems(
        password, person=Person()
    )


def test_short_name_parts_and_other_peoples_data_are_allowed() -> None:
    an = Person(full_name="Võ An", date_of_birth=date(1985, 3, 12))
    assert password_problems("Cay#Vong!An7z", person=an) == []  # "an", "vo": under 3 letters
    assert password_problems("Mua#Xuan1992z", person=Person(date_of_birth=date(1990, 1, 1))) == []


@pytest.mark.parametrize("password", ["Aa1!aaaa", "Qwe@1234", "Zz9#zzzz", "Abc#1234", "Aa@12345"])
def test_composition_alone_does_not_make_a_password_acceptable(password: str) -> None:
    problems = password_problems(password)
    assert {"too_predictable", "too_common"} & set(problems), (password, problems)


@pytest.mark.parametrize("password", ["P@ssw0rd", "Password1!", "dragon", "QWERTY123", "iloveyou"])
def test_common_passwords_are_refused_in_any_case_and_l33t(password: str) -> None:
    assert "too_common" in password_problems(password)


def test_the_common_list_holds_at_least_ten_thousand_passwords() -> None:
    assert len(zxcvbn_common() | common_passwords()) >= 10_000


def test_birth_date_forms() -> None:
    assert set(birth_date_forms(date(1992, 4, 7))) >= {
        "07041992",
        "19920407",
        "070492",
        "0704",
        "1992",
        "741992",
    }


def test_predictability_and_length_are_configuration() -> None:
    assert PasswordSettings.from_env({}).min_guesses_log10 == 8
    lax = PasswordSettings.from_env({"IDENTITY_PASSWORD_MIN_GUESSES_LOG10": "0"})
    assert "too_predictable" not in password_problems("Aa1!aaaa", settings=lax)
    long = PasswordSettings.from_env({"IDENTITY_PASSWORD_MIN_LENGTH": "12"})
    assert "too_short" in password_problems("Sao#Mai26xy", settings=long)
    assert "too_short" not in password_problems("Sao#Mai26xy")


def test_strong_passwords_still_pass() -> None:
    for password in (PASSWORD, "Xin chào Việt Nam 1!", "Moi#MatKhau77", "Doi#MatKhau2026"):
        assert password_problems(password, person=KIEM) == [], password


# -- the HTTP problem -----------------------------------------------------------------


def verified_registration(client: FlaskClient, db: IdentityDb, citizen: Any) -> str:
    rid = start_registration(client, citizen)["id"]
    verified = client.post(
        f"{API}/registrations/{rid}/otp/verify", json={"code": db.last_code(citizen.e164)}
    )
    assert verified.status_code == 200
    return str(rid)


def test_registration_says_which_rule_failed_in_vietnamese(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    rid = verified_registration(client, identity_db, AN)  # Nguyễn Văn An, 12/03/1985

    def complete(password: str) -> dict[str, Any]:
        response = client.post(
            f"{API}/registrations/{rid}/complete",
            json={"password": password, "password_confirmation": password},
        )
        if response.status_code != 201:
            assert response.content_type.startswith("application/problem+json")
        return {"status": response.status_code, **response.get_json()}

    cases = {
        "Nguyen@1999xq": ("contains_name", "họ hoặc tên"),
        "Mua#Xuan1985z": ("contains_birth_date", "ngày sinh hoặc năm sinh"),
        "Mua#Xuan12031985": ("contains_birth_date", "ngày sinh hoặc năm sinh"),
        "Mua#Xuan038085001234": ("contains_citizen_id", "CMT/CCCD"),
        "Mua#Xuan0912345678": ("contains_phone", "số điện thoại"),
        "Aa1!aaaa": ("too_predictable", "dễ đoán"),
        "P@ssw0rd": ("too_common", "phổ biến"),
        "Ab1!": ("too_short", "ít nhất 8 ký tự"),
    }
    for password, (rule, words) in cases.items():
        weak = complete(password)
        assert (weak["status"], weak["code"]) == (422, "weak_password"), password
        assert weak["rule"] == rule and rule in weak["rules"], (password, weak)
        assert (
            words in weak["errors"]["password"][0]
            and weak["detail"] == (weak["errors"]["password"][0])
        ), weak
    assert complete(PASSWORD)["status"] == 201


def test_kiem_1992_is_refused_at_registration(
    client: FlaskClient, identity_db: IdentityDb, carrier: Carrier
) -> None:
    kiem = make_citizen(
        citizen_id="038092001234",
        full_name="Trần Văn Kiếm",
        date_of_birth="1992-04-07",
        phone="0938111222",
        e164="+84938111222",
    )
    carrier.registry.add(
        {
            "phone": kiem.e164,
            "citizen_id": kiem.citizen_id,
            "full_name": kiem.full_name,
            "date_of_birth": kiem.date_of_birth,
        }
    )
    rid = verified_registration(client, identity_db, kiem)
    weak = client.post(
        f"{API}/registrations/{rid}/complete",
        json={"password": "Kiem@1992", "password_confirmation": "Kiem@1992"},
    ).get_json()
    assert weak["code"] == "weak_password" and weak["rule"] == "contains_name", weak
    assert "contains_birth_date" in weak["rules"] and len(weak["errors"]["password"]) >= 2


def test_password_reset_applies_the_same_rules(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    register(client, identity_db, AN)
    reset = client.post(f"{API}/password-resets", json={"username": AN.citizen_id}).get_json()
    client.post(
        f"{API}/password-resets/{reset['id']}/otp/verify",
        json={"code": identity_db.last_code(AN.e164)},
    )
    for password, rule in [
        ("Nguyen#Moi2026", "contains_name"),
        ("Mat#Khau1985x", "contains_birth_date"),
        ("Mat#Khau0912345678", "contains_phone"),
        ("Aa1!aaaa", "too_predictable"),
    ]:
        weak = client.post(
            f"{API}/password-resets/{reset['id']}/complete",
            json={"password": password, "password_confirmation": password},
        ).get_json()
        assert weak["code"] == "weak_password" and weak["rule"] == rule, (password, weak)
        assert weak["errors"]["password"]
    new = "Doi#MatKhau2026"
    done = client.post(
        f"{API}/password-resets/{reset['id']}/complete",
        json={"password": new, "password_confirmation": new},
    )
    assert done.status_code == 200
