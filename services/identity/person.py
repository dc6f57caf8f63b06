"""The person whose password is being set, as the password rules see them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.identity.accounts import otp_phones
from services.identity.models import Account, Registration
from services.identity.password_rules import Person


def person_of_registration(registration: Registration) -> Person:
    return Person(
        full_name=registration.full_name,
        date_of_birth=registration.date_of_birth,
        citizen_id=registration.citizen_id,
        phones=(registration.phone,),
    )


def person_of_account(session: Session, account: Account) -> Person:
    """The account's name, birth date, citizen ID and every OTP phone in use."""
    return Person(
        full_name=account.full_name,
        date_of_birth=account.date_of_birth,
        citizen_id=account.citizen_id or account.username,
        phones=tuple(p.phone for p in otp_phones(session, account.id)),
    )
