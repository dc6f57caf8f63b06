import json
import uuid
from datetime import UTC, datetime

import pytest

from services.core.bus import Envelope, EnvelopeError


def test_envelope_round_trips_through_its_body() -> None:
    env = Envelope(
        type="dossier.submitted",
        data={"code": "000.00.38.H56-261122-0001", "tên": "Nguyễn Văn A"},
        source="dossier",
        province="38",
        correlation_id="req-1",
        subject="d-1",
        occurred_at=datetime(2026, 11, 22, 3, 4, 5, 123456, tzinfo=UTC),
    )
    body = env.to_body()
    raw = json.loads(body)
    assert raw["occurred_at"] == "2026-11-22T03:04:05.123Z"
    assert "Nguyễn" in body.decode()  # UTF-8, not \u escapes
    back = Envelope.from_body(body)
    assert back.id == env.id
    assert back.type == "dossier.submitted"
    assert back.data == env.data
    assert back.subject == "d-1"
    assert back.occurred_at == datetime(2026, 11, 22, 3, 4, 5, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not utf8",
        b"not json",
        b"[1, 2]",
        json.dumps({"type": "x.y", "data": {}}).encode(),
        json.dumps(
            {
                "id": "not-a-uuid",
                "type": "a.b",
                "version": 1,
                "occurred_at": "2026-11-22T03:04:05.123Z",
                "source": "s",
                "data": {},
            }
        ).encode(),
        json.dumps(
            {
                "id": str(uuid.uuid4()),
                "type": "NoDots",
                "version": 1,
                "occurred_at": "2026-11-22T03:04:05.123Z",
                "source": "s",
                "data": {},
            }
        ).encode(),
    ],
)
def test_malformed_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(EnvelopeError):
        Envelope.from_body(body)


def test_an_invalid_type_is_refused_before_it_reaches_the_outbox() -> None:
    with pytest.raises(EnvelopeError):
        Envelope(type="Bad Type", data={}, source="s").validate()
