"""The HTTP API: inbox, dev outbox and the admin view, with problem+json refusals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from services.core.clock import utcnow
from services.core.config import ServiceSettings
from services.core.service import ServiceDatabase
from services.notify.app import create_app
from services.notify.config import NotifySettings
from services.notify.context import build_context
from services.notify.dispatcher import Dispatcher
from services.notify.models import DevOutboxMessage, InboxItem
from services.notify.providers import build_providers
from tests.notify.conftest import NotifyDb, accept_command, make_command
from tests.support.tokens import TokenFactory

TOKENS = TokenFactory()


def client_for(db: NotifyDb, settings: NotifySettings) -> FlaskClient:
    service = ServiceSettings(service="notify", database_url=db.url)
    database = ServiceDatabase(db.engine, db.sessions)
    ctx = build_context(service, settings, database=database, verifier=TOKENS.verifier())
    return create_app(ctx=ctx).test_client()


@pytest.fixture
def client(notify_db: NotifyDb, notify_settings: NotifySettings) -> Iterator[FlaskClient]:
    yield client_for(notify_db, notify_settings)


def bearer(sub: str, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS.issue(sub, roles or ('citizen',))}"}


def make_inbox_item(db: NotifyDb, account_id: str, subject: str, age_minutes: int) -> str:
    item_id = str(uuid.uuid4())
    with db.sessions.begin() as session:
        session.add(
            InboxItem(
                id=item_id,
                notification_id=str(uuid.uuid4()),
                account_id=account_id,
                template="dossier_received",
                reference="dossier-1",
                subject=subject,
                body="Nội dung",
                created_at=utcnow() - timedelta(minutes=age_minutes),
            )
        )
    return item_id


def make_outbox_message(db: NotifyDb, channel: str, to: str, body: str) -> None:
    with db.sessions.begin() as session:
        session.add(
            DevOutboxMessage(
                notification_id=str(uuid.uuid4()),
                channel=channel,
                to=to,
                subject="",
                body=body,
                created_at=utcnow(),
            )
        )


def assert_problem(response: object, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.get_json()  # type: ignore[attr-defined]
    assert response.mimetype == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.get_json()  # type: ignore[attr-defined]
    assert body["code"] == code
    return body


def test_the_inbox_needs_a_valid_bearer_token(client: FlaskClient) -> None:
    assert_problem(client.get("/api/notify/inbox"), 401, "unauthorized")
    bad = {"Authorization": "Bearer not-a-token"}
    assert_problem(client.get("/api/notify/inbox", headers=bad), 401, "invalid_token")


def test_the_inbox_lists_own_messages_newest_first_with_read_state(
    client: FlaskClient, notify_db: NotifyDb
) -> None:
    old = make_inbox_item(notify_db, "me", "Cũ", 30)
    new = make_inbox_item(notify_db, "me", "Mới", 1)
    middle = make_inbox_item(notify_db, "me", "Giữa", 10)
    make_inbox_item(notify_db, "someone-else", "Không phải của tôi", 0)
    page = client.get("/api/notify/inbox?per_page=2", headers=bearer("me")).get_json()
    assert [i["id"] for i in page["items"]] == [new, middle]
    assert (page["total"], page["page"], page["per_page"], page["unread"]) == (3, 1, 2, 3)
    assert page["items"][0]["subject"] == "Mới" and page["items"][0]["read"] is False
    second = client.get("/api/notify/inbox?per_page=2&page=2", headers=bearer("me")).get_json()
    assert [i["id"] for i in second["items"]] == [old]

    read = client.post(f"/api/notify/inbox/{middle}/read", headers=bearer("me"))
    assert read.status_code == 200 and read.get_json()["read"] is True
    again = client.post(f"/api/notify/inbox/{middle}/read", headers=bearer("me"))
    assert again.get_json()["read_at"] == read.get_json()["read_at"]
    after = client.get("/api/notify/inbox", headers=bearer("me")).get_json()
    assert after["unread"] == 2
    unread = client.get("/api/notify/inbox?unread=true", headers=bearer("me")).get_json()
    assert [i["id"] for i in unread["items"]] == [new, old]


def test_someone_elses_message_is_not_found(client: FlaskClient, notify_db: NotifyDb) -> None:
    theirs = make_inbox_item(notify_db, "them", "Riêng", 0)
    body = assert_problem(
        client.post(f"/api/notify/inbox/{theirs}/read", headers=bearer("me")),
        404,
        "inbox_item_not_found",
    )
    assert body["title"] == "Không tìm thấy thông báo."


@pytest.mark.parametrize("query", ["page=0", "per_page=1000", "page=abc", "unread=perhaps"])
def test_bad_paging_is_a_validation_problem(client: FlaskClient, query: str) -> None:
    response = client.get(f"/api/notify/inbox?{query}", headers=bearer("me"))
    assert_problem(response, 422, "validation_error")


def test_the_dev_outbox_finds_a_phone_in_any_form_newest_first(
    client: FlaskClient, notify_db: NotifyDb
) -> None:
    make_outbox_message(notify_db, "sms", "+84912345678", "first")
    make_outbox_message(notify_db, "sms", "+84987654321", "other phone")
    make_outbox_message(notify_db, "sms", "+84912345678", "second")
    make_outbox_message(notify_db, "email", "a.b@example.vn", "mail")
    for form in ("0912345678", "+84912345678", "84912345678", "091 234 5678"):
        items = client.get("/api/notify/dev/outbox", query_string={"to": form}).get_json()["items"]
        assert [i["body"] for i in items] == ["second", "first"], form
        assert set(items[0]) == {"channel", "to", "subject", "body", "created_at"}
    mail = client.get("/api/notify/dev/outbox?to=A.B@Example.VN").get_json()["items"]
    assert [i["body"] for i in mail] == ["mail"]


def test_the_dev_outbox_lists_nobody_without_to(client: FlaskClient, notify_db: NotifyDb) -> None:
    """Every recipient's messages, OTP codes included, must not be one request away."""
    make_outbox_message(notify_db, "sms", "+84912345678", "Mã OTP 482913")
    for query in ("", "?limit=500", "?to="):
        response = client.get(f"/api/notify/dev/outbox{query}")
        body = assert_problem(response, 422, "validation_error")
        assert "482913" not in response.get_data(as_text=True)
        assert "to" in body["errors"], query  # type: ignore[operator]


def test_a_bad_dev_outbox_address_is_a_validation_problem(client: FlaskClient) -> None:
    body = assert_problem(client.get("/api/notify/dev/outbox?to=12345"), 422, "invalid_recipient")
    assert "to" in body["errors"]  # type: ignore[operator]


def test_the_dev_outbox_does_not_exist_when_disabled(
    notify_db: NotifyDb, notify_settings: NotifySettings
) -> None:
    from dataclasses import replace

    client = client_for(notify_db, replace(notify_settings, dev_outbox_endpoint=False))
    assert_problem(client.get("/api/notify/dev/outbox?to=0912345678"), 404, "not_found")
    spec = client.get("/api/notify/openapi.json").get_json()
    assert "/api/notify/dev/outbox" not in spec["paths"]
    assert "/api/notify/inbox" in spec["paths"]


def test_admins_see_notifications_with_attempts(
    client: FlaskClient, notify_db: NotifyDb, notify_settings: NotifySettings
) -> None:
    with notify_db.sessions.begin() as session:
        ids = accept_command(session, make_command(phone=None), notify_settings, utcnow())
    dispatcher = Dispatcher(
        notify_db.sessions, build_providers(notify_settings, notify_db.sessions), notify_settings
    )
    for notification_id in ids:
        dispatcher.deliver(notification_id)
    assert_problem(client.get("/api/notify/notifications", headers=bearer("me")), 403, "forbidden")
    admin = bearer("boss", "admin")
    page = client.get("/api/notify/notifications", headers=admin).get_json()
    assert page["total"] == 3
    delivered = client.get("/api/notify/notifications?status=delivered", headers=admin).get_json()[
        "items"
    ]
    assert {i["channel"] for i in delivered} == {"email", "inbox"}
    assert all(len(i["delivery_attempts"]) == 1 for i in delivered)
    assert delivered[0]["delivery_attempts"][0]["outcome"] == "delivered"
    by_mail = client.get(
        "/api/notify/notifications?to=NguyenVanA@example.vn", headers=admin
    ).get_json()["items"]
    assert [i["to"] for i in by_mail] == ["ng********@example.vn"]
    assert "body" not in by_mail[0]
    mine = client.get(
        "/api/notify/notifications?account_id=acc-1&channel=inbox", headers=admin
    ).get_json()
    assert mine["total"] == 1 and mine["items"][0]["account_id"] == "acc-1"
    skipped = client.get("/api/notify/notifications?status=skipped", headers=admin).get_json()
    assert skipped["items"][0]["failure_reason"] == "no_address"
    assert_problem(
        client.get("/api/notify/notifications?status=lost", headers=admin), 422, "validation_error"
    )


def test_english_titles_on_request(client: FlaskClient) -> None:
    response = client.get("/api/notify/dev/outbox?to=xyz", headers={"Accept-Language": "en"})
    assert assert_problem(response, 422, "invalid_recipient")["title"] == (
        "Not an e-mail address or a mobile number."
    )
