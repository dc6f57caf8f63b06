"""The mobile carrier's subscriber registry, over HTTP: is this number this person's?"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

import requests

from services.core.problems import Problem
from services.identity.config import IdentityConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subscriber:
    """The carrier's record of who a number is registered to."""

    phone: str
    citizen_id: str
    full_name: str
    date_of_birth: date


def normalize_name(name: str) -> str:
    """NFC, case-folded, single spaces: how names are compared with the carrier's."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def matches(subscriber: Subscriber | None, citizen_id: str, full_name: str, born: date) -> bool:
    """Does the carrier list this phone under this very person?"""
    return (
        subscriber is not None
        and subscriber.citizen_id == citizen_id
        and normalize_name(subscriber.full_name) == normalize_name(full_name)
        and subscriber.date_of_birth == born
    )


class CarrierRegistry:
    """HTTP client of the carrier registry (CARRIER_REGISTRY_URL), with a timeout."""

    def __init__(self, config: IdentityConfig) -> None:
        self.base_url = config.carrier_url
        self.timeout = config.carrier_timeout_seconds
        self._http = requests.Session()
        # urllib3 logs request lines at DEBUG, and ours carry a phone number.
        logging.getLogger("urllib3.connectionpool").setLevel(logging.WARNING)

    def lookup(self, phone: str) -> Subscriber | None:
        """The subscriber of an E.164 number, None when unknown; 503 when unreachable."""
        url = f"{self.base_url}/subscribers/{quote(phone)}"
        try:
            response = self._http.get(url, timeout=self.timeout)
            if response.status_code == 404:
                return None
            response.raise_for_status()
            body = response.json()
            return Subscriber(
                phone=str(body["phone"]),
                citizen_id=str(body["citizen_id"]),
                full_name=str(body["full_name"]),
                date_of_birth=date.fromisoformat(str(body["date_of_birth"])),
            )
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            log.warning("carrier registry unavailable: %s", type(exc).__name__)
            raise Problem("carrier_unavailable", status=503) from exc
