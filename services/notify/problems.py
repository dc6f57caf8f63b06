"""Problem codes of the notify service, registered with core (Vietnamese, English)."""

from __future__ import annotations

from services.core.problems import NotFound, ValidationProblem, register_messages

register_messages(
    {
        "inbox_item_not_found": ("Không tìm thấy thông báo.", "No such inbox message."),
        "invalid_recipient": (
            "Địa chỉ nhận không hợp lệ: cần một địa chỉ e-mail hoặc số điện thoại di động.",
            "Not an e-mail address or a mobile number.",
        ),
    }
)


class InboxItemNotFound(NotFound):
    """Not one of the caller's inbox messages (someone else's is not found either)."""

    code = "inbox_item_not_found"


class InvalidRecipient(ValidationProblem):
    """`to` is neither an e-mail address nor a mobile number."""

    code = "invalid_recipient"

    def __init__(self, field: str = "to") -> None:
        super().__init__(errors={field: ["an e-mail address or a mobile number"]})
