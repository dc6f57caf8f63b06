"""E-mail through a real SMTP server (aiosmtpd): headers, both parts, diacritics intact."""

from __future__ import annotations

from dataclasses import replace

from aiosmtpd.controller import Controller

from services.notify.config import NotifySettings
from services.notify.dispatcher import Dispatcher
from services.notify.models import Notification
from services.notify.providers import build_providers
from tests.notify.conftest import Clock, NotifyDb, SmtpSink, accept_command, make_command


def smtp_settings(base: NotifySettings, sink: SmtpSink) -> NotifySettings:
    return replace(
        base, email_provider="smtp", smtp_host=sink.host, smtp_port=sink.port, smtp_timeout=3
    )


def send_email(db: NotifyDb, settings: NotifySettings, clock: Clock, **command: object) -> str:
    envelope = make_command(channels=("email",), **command)  # type: ignore[arg-type]
    with db.sessions.begin() as session:
        [notification_id] = accept_command(session, envelope, settings, clock())
    dispatcher = Dispatcher(
        db.sessions, build_providers(settings, db.sessions), settings, clock=clock
    )
    status = dispatcher.deliver(notification_id)
    assert status is not None
    return status


def test_the_received_message_has_utf8_headers_and_both_parts(
    sqlite_db: NotifyDb, notify_settings: NotifySettings, clock: Clock, smtp_sink: SmtpSink
) -> None:
    settings = smtp_settings(notify_settings, smtp_sink)
    assert send_email(sqlite_db, settings, clock, email="Tran.Thi.B@Example.VN") == "delivered"
    [message] = smtp_sink.messages
    assert smtp_sink.envelopes[0] == ("no-reply@dichvucong.gov.vn", ["tran.thi.b@example.vn"])
    assert message["Subject"] == "Hồ sơ H38.01-261122-0001 đã được gửi"
    assert message["From"].addresses[0].display_name == "Cổng Dịch vụ công"
    assert message["To"] == "tran.thi.b@example.vn"
    assert message["Message-ID"] and message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content_charset() == "utf-8" and html.get_content_charset() == "utf-8"
    text = plain.get_content()
    assert 'thủ tục "Đăng ký khai sinh" đã được gửi thành công' in text
    assert "Ngày hẹn trả kết quả dự kiến: 25/11/2026." in text
    markup = html.get_content()
    assert "<p>Ngày hẹn trả kết quả dự kiến: 25/11/2026.</p>" in markup
    assert 'lang="vi"' in markup
    with sqlite_db.sessions() as session:
        notification = session.query(Notification).one()
        assert notification.delivery_attempts[0].provider == "smtp"
        assert notification.delivery_attempts[0].provider_reference == message["Message-ID"]


def test_a_refused_recipient_is_permanent_and_a_busy_mailbox_temporary(
    sqlite_db: NotifyDb, notify_settings: NotifySettings, clock: Clock, smtp_sink: SmtpSink
) -> None:
    settings = smtp_settings(notify_settings, smtp_sink)
    smtp_sink.refuse = 550
    assert send_email(sqlite_db, settings, clock, reference="a") == "permanent-failure"
    smtp_sink.refuse = 451
    assert send_email(sqlite_db, settings, clock, reference="b") == "temporary-failure"
    assert smtp_sink.messages == []


def test_an_unreachable_smtp_server_is_a_temporary_failure_that_recovers(
    sqlite_db: NotifyDb, notify_settings: NotifySettings, clock: Clock, smtp_sink: SmtpSink
) -> None:
    down = replace(smtp_settings(notify_settings, smtp_sink), smtp_port=1)
    assert send_email(sqlite_db, down, clock) == "temporary-failure"
    clock.advance(10)
    up = smtp_settings(notify_settings, smtp_sink)
    dispatcher = Dispatcher(
        sqlite_db.sessions, build_providers(up, sqlite_db.sessions), up, clock=clock
    )
    [due] = dispatcher.due_ids()
    assert dispatcher.deliver(due) == "delivered"
    assert len(smtp_sink.messages) == 1


def test_a_delivery_thread_reuses_its_connection_and_reconnects_after_a_server_restart(
    sqlite_db: NotifyDb, notify_settings: NotifySettings, clock: Clock, smtp_sink: SmtpSink
) -> None:
    settings = smtp_settings(notify_settings, smtp_sink)
    dispatcher = Dispatcher(
        sqlite_db.sessions, build_providers(settings, sqlite_db.sessions), settings, clock=clock
    )

    def send(reference: str) -> str | None:
        envelope = make_command(channels=("email",), reference=reference)
        with sqlite_db.sessions.begin() as session:
            [notification_id] = accept_command(session, envelope, settings, clock())
        return dispatcher.deliver(notification_id)

    assert [send(f"r{i}") for i in range(3)] == ["delivered"] * 3
    assert smtp_sink.greetings == 1 and len(smtp_sink.messages) == 3
    smtp_sink.controller.stop()  # the server goes away and comes back
    smtp_sink.controller = Controller(smtp_sink, hostname=smtp_sink.host, port=smtp_sink.port)
    smtp_sink.controller.start()
    assert send("after-restart") == "delivered"
    assert smtp_sink.greetings == 2 and len(smtp_sink.messages) == 4
