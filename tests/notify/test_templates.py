"""Every template renders on every channel with exactly its documented keys."""

from __future__ import annotations

import unicodedata

import pytest

from services.core.contracts.notify import Channel, Template
from services.notify.rendering import (
    DERIVED_KEYS,
    NEXT_STEP,
    TEMPLATE_DIR,
    TEMPLATE_KEYS,
    TemplateError,
    placeholders,
    render,
    template_text,
)

SAMPLE = {
    "code": "482913",
    "minutes": "5",
    "full_name": "Nguyễn Thị Hường",
    "new_phone_masked": "098****321",
    "dossier_code": "H38.01-261122-0001",
    "procedure_name": "Đăng ký khai sinh",
    "due_date": "25/11/2026",
    "new_due_date": "02/12/2026",
    "reason": "Thiếu bản sao giấy chứng sinh",
    "delivery_method": "post",
}
VIETNAMESE_MARKS = set("ăâđêôơưáàảãạếềểễệốồổỗộớờởỡợúùủũụứừửữựíìỉĩịýỳỷỹỵ")

CASES = [(t, c) for t in Template for c in Channel]


def test_every_template_has_documented_keys_and_files() -> None:
    assert set(TEMPLATE_KEYS) == set(Template)
    on_disk = {p.name for p in TEMPLATE_DIR.iterdir() if p.is_dir()}
    assert on_disk == {t.value for t in Template}, "a template folder without a Template"


@pytest.mark.parametrize(("template", "channel"), CASES, ids=[f"{t}-{c}" for t, c in CASES])
def test_template_uses_only_documented_placeholders(template: Template, channel: Channel) -> None:
    text = template_text(template, channel)
    used = placeholders(text)
    unknown = used - TEMPLATE_KEYS[template] - DERIVED_KEYS.get(template, frozenset())
    assert not unknown, f"{template}/{channel} uses undocumented placeholders {unknown}"
    assert used, f"{template}/{channel} personalises nothing"
    if template in (Template.OTP_LOGIN, Template.OTP_REGISTRATION):
        assert "{code}" in text


@pytest.mark.parametrize(("template", "channel"), CASES, ids=[f"{t}-{c}" for t, c in CASES])
def test_template_renders_vietnamese_with_documented_keys(
    template: Template, channel: Channel
) -> None:
    personalisation = {key: SAMPLE[key] for key in TEMPLATE_KEYS[template]}
    rendered = render(template, channel, personalisation)
    assert "{" not in rendered.body and "}" not in rendered.body
    assert unicodedata.is_normalized("NFC", rendered.body)
    assert VIETNAMESE_MARKS & set(rendered.body.lower()), "diacritics missing"
    for key in placeholders(template_text(template, channel)):
        if key not in ("delivery_method", "next_step"):
            assert SAMPLE[key] in rendered.body + rendered.subject
    if channel == Channel.SMS:
        assert rendered.subject == "" and rendered.html is None
    else:
        assert rendered.subject and "{" not in rendered.subject
    if channel == Channel.EMAIL:
        assert rendered.html is not None and rendered.html.startswith("<!DOCTYPE html>")
    if channel == Channel.INBOX:
        assert rendered.html is None


@pytest.mark.parametrize("template", list(Template))
def test_a_missing_key_is_an_error(template: Template) -> None:
    personalisation = {key: SAMPLE[key] for key in TEMPLATE_KEYS[template]}
    dropped = sorted(personalisation)[0]
    del personalisation[dropped]
    with pytest.raises(TemplateError, match=dropped):
        render(template, Channel.SMS, personalisation)


def test_unknown_template_or_channel_is_an_error() -> None:
    with pytest.raises(TemplateError):
        render("no_such_template", "sms", {})
    with pytest.raises(TemplateError):
        render("otp_login", "fax", {"code": "1", "minutes": "5"})


def test_delivery_method_is_said_in_vietnamese_and_html_is_escaped() -> None:
    rendered = render(
        Template.DOSSIER_RESULT_RETURNED,
        Channel.EMAIL,
        {"dossier_code": "<b>X</b>", "delivery_method": "post"},
    )
    assert "qua dịch vụ bưu chính công ích" in rendered.body
    assert rendered.html is not None
    assert "&lt;b&gt;X&lt;/b&gt;" in rendered.html and "<b>X</b>" not in rendered.html
    assert "<b>X</b>" in rendered.body  # plain text stays as sent


@pytest.mark.parametrize("channel", list(Channel))
def test_an_anonymous_dossier_is_told_to_file_anew(channel: Channel) -> None:
    base = {"dossier_code": "H38.01-261122-0001", "reason": "Thiếu giấy chứng sinh"}
    usual = render(Template.DOSSIER_SUPPLEMENT_REQUESTED, channel, base)
    anew = render(Template.DOSSIER_SUPPLEMENT_REQUESTED, channel, {**base, "file_anew": True})
    assert NEXT_STEP[False] in usual.body and NEXT_STEP[True] not in usual.body
    assert NEXT_STEP[True] in anew.body and NEXT_STEP[False] not in anew.body
