"""Templates: files in the repo, one per purpose and channel, rendered with personalisation.

`template_files/<template>/sms.txt` is the text of the SMS; `email.txt` and `inbox.txt`
hold the subject on their first line, a blank line, then the body. Placeholders are
`{key}`; the keys each template may use are TEMPLATE_KEYS, as documented on the
`Template` enum of the `notify.send` command.
"""

from __future__ import annotations

import html
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from services.core.contracts.notify import Channel, Template

TEMPLATE_DIR = Path(__file__).parent / "template_files"

_OTP = frozenset({"code", "minutes"})
_DOSSIER_DUE = frozenset({"dossier_code", "procedure_name", "due_date"})

TEMPLATE_KEYS: dict[Template, frozenset[str]] = {
    Template.OTP_REGISTRATION: _OTP,
    Template.OTP_LOGIN: _OTP,
    Template.OTP_PHONE_CHANGE: _OTP,
    Template.OTP_PASSWORD_RESET: _OTP,
    Template.ACCOUNT_CREATED: frozenset({"full_name"}),
    Template.OTP_PHONE_CHANGED: frozenset({"full_name", "new_phone_masked"}),
    Template.DOSSIER_SUBMITTED: _DOSSIER_DUE,
    Template.DOSSIER_RECEIVED: _DOSSIER_DUE,
    Template.DOSSIER_SUPPLEMENT_REQUESTED: frozenset({"dossier_code", "reason"}),
    Template.DOSSIER_RESUBMITTED: frozenset({"dossier_code", "procedure_name"}),
    Template.DOSSIER_RESULT_RETURNED: frozenset({"dossier_code", "delivery_method"}),
    Template.DOSSIER_REJECTED: frozenset({"dossier_code", "reason"}),
    Template.DOSSIER_OVERDUE_APOLOGY: frozenset({"dossier_code", "new_due_date", "reason"}),
}

# Placeholders notify computes from the personalisation instead of receiving them.
DERIVED_KEYS: dict[Template, frozenset[str]] = {
    Template.DOSSIER_SUPPLEMENT_REQUESTED: frozenset({"next_step"}),
}
# What to do after a supplement request; `file_anew` (anonymous dossiers, which cannot
# be supplemented) asks the citizen to file a new dossier instead.
NEXT_STEP = {
    False: "Vui lòng đăng nhập Cổng Dịch vụ công, mở hồ sơ trong trang quản lý hồ sơ cá nhân "
    "và gửi bổ sung.",
    True: "Hồ sơ nộp không cần tài khoản không bổ sung được: vui lòng nộp một hồ sơ mới "
    "kèm giấy tờ cần bổ sung.",
}

# Templates whose text carries a secret: bodies are wiped once delivery is final.
SENSITIVE_TEMPLATES = frozenset(t for t, keys in TEMPLATE_KEYS.items() if "code" in keys)

# The dossier service sends delivery methods as codes; the citizen reads Vietnamese.
DELIVERY_METHODS = {
    "online": "trực tuyến trên Cổng Dịch vụ công",
    "counter": "trực tiếp tại Bộ phận Tiếp nhận và Trả kết quả",
    "post": "qua dịch vụ bưu chính công ích",
}


class TemplateError(ValueError):
    """Unknown template, or personalisation that does not fit it."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    html: str | None = None


def placeholders(text: str) -> set[str]:
    """The `{key}` names a template text uses."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


@cache
def template_text(template: str, channel: str) -> str:
    """The raw template file (cached: files do not change while the process runs)."""
    try:
        Template(template)
        Channel(channel)
    except ValueError as exc:
        raise TemplateError(f"unknown template or channel: {template}/{channel}") from exc
    return (TEMPLATE_DIR / template / f"{channel}.txt").read_text(encoding="utf-8").strip()


def _values(template: Template, personalisation: Mapping[str, Any]) -> dict[str, str]:
    missing = TEMPLATE_KEYS[template] - personalisation.keys()
    if missing:
        raise TemplateError(f"{template}: personalisation lacks {', '.join(sorted(missing))}")
    values = {key: str(personalisation[key]) for key in TEMPLATE_KEYS[template]}
    if template == Template.DOSSIER_SUPPLEMENT_REQUESTED:
        values["next_step"] = NEXT_STEP[personalisation.get("file_anew") is True]
    if "delivery_method" in values:
        values["delivery_method"] = DELIVERY_METHODS.get(
            values["delivery_method"], values["delivery_method"]
        )
    return values


def _fill(text: str, values: Mapping[str, str]) -> str:
    try:
        return text.format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        raise TemplateError(f"template placeholder not filled: {exc}") from exc


def render(template: str, channel: str, personalisation: Mapping[str, Any]) -> Rendered:
    """Fill a template for a channel; TemplateError when a key is missing or unknown."""
    text = template_text(template, channel)
    values = _values(Template(template), personalisation)
    if channel == Channel.SMS:
        return Rendered(subject="", body=_fill(text, values))
    subject_line, _, body_text = text.partition("\n")
    subject = _fill(subject_line.strip(), values)
    body = _fill(body_text.strip(), values)
    if channel != Channel.EMAIL:
        return Rendered(subject=subject, body=body)
    escaped = {key: html.escape(value) for key, value in values.items()}
    paragraphs = _fill(html.escape(body_text.strip(), quote=False), escaped).split("\n\n")
    html_body = "".join("<p>" + p.replace("\n", "<br>") + "</p>" for p in paragraphs)
    document = (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>"
        f'<body style="font-family:Arial,sans-serif">{html_body}</body></html>'
    )
    return Rendered(subject=subject, body=body, html=document)
