"""Identity's problem codes, Vietnamese and English titles; registered by the context."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from services.core.problems import Problem, register_messages, wants_english

OTP_NOT_DELIVERED_DETAIL = (
    "Tin nhắn chứa mã OTP chưa đến được số điện thoại của bạn. Vui lòng nhấn “Gửi lại OTP” "
    "ngay, chọn số điện thoại nhận OTP khác, hoặc thử lại sau ít phút.",
    "The text with the OTP could not reach your phone. Ask for a new OTP now, choose "
    "another OTP phone, or try again in a few minutes.",
)

MESSAGES: dict[str, tuple[str, str]] = {
    "account_exists": (
        "Số CMT/CCCD này đã có tài khoản. Nếu quên mật khẩu, vui lòng dùng chức năng "
        "“Quên mật khẩu” tại màn hình đăng nhập.",
        "An account already exists for this citizen ID; use “Forgot password” to recover it.",
    ),
    "subscriber_mismatch": (
        "Số điện thoại không được nhà mạng ghi nhận là thuê bao chính chủ của người có thông tin "
        "trên. Vui lòng kiểm tra lại thông tin thuê bao tại nhà mạng.",
        "The carrier does not list this phone as registered to this person; check the "
        "subscription with the carrier.",
    ),
    "carrier_unavailable": (
        "Chưa kiểm tra được thông tin thuê bao với nhà mạng. Vui lòng thử lại sau.",
        "The carrier registry cannot be reached; try again later.",
    ),
    "otp_cooldown": (
        "Vui lòng chờ trước khi yêu cầu gửi lại mã OTP.",
        "Wait before asking for another OTP.",
    ),
    "otp_send_limit": (
        "Số điện thoại này đã nhận quá nhiều mã OTP. Vui lòng thử lại sau.",
        "Too many OTPs were sent to this phone; try again later.",
    ),
    "otp_invalid": ("Mã OTP không đúng.", "The OTP is not correct."),
    "otp_expired": (
        "Mã OTP đã hết hạn. Vui lòng nhấn “Gửi lại OTP”.",
        "The OTP has expired; ask for a new one.",
    ),
    "otp_locked": (
        "Bạn đã nhập sai mã OTP quá số lần cho phép. Vui lòng yêu cầu gửi lại mã OTP.",
        "Too many wrong OTPs; ask for a new one.",
    ),
    "otp_not_verified": (
        "Bạn cần xác nhận mã OTP trước.",
        "The OTP has not been verified yet.",
    ),
    "otp_already_used": ("Mã OTP này đã được sử dụng.", "This OTP was already used."),
    "weak_password": (
        "Mật khẩu phải có từ 8 ký tự trở lên, gồm chữ thường, chữ in hoa, số và ký tự đặc biệt, "
        "không chứa số CMT/CCCD hoặc số điện thoại và không quá phổ biến.",
        "The password must have 8 or more characters with lower case, upper case, a digit and "
        "a special character, must not contain the citizen ID or phone, and must not be common.",
    ),
    "password_mismatch": (
        "Mật khẩu xác nhận không khớp.",
        "The password confirmation does not match.",
    ),
    "invalid_credentials": (
        "Tên đăng nhập hoặc mật khẩu không đúng.",
        "The username or password is not correct.",
    ),
    "login_throttled": (
        "Bạn đã nhập sai mật khẩu nhiều lần. Vui lòng thử lại sau hoặc dùng chức năng "
        "“Quên mật khẩu”.",
        "Too many failed logins; try again later or reset the password.",
    ),
    "flow_expired": (
        "Phiên thao tác đã hết hạn. Vui lòng thực hiện lại từ đầu.",
        "This step has expired; start again.",
    ),
    "invalid_step": (
        "Thao tác không hợp lệ ở bước này.",
        "This action is not allowed at this step.",
    ),
    "phone_not_found": (
        "Không tìm thấy số điện thoại nhận OTP đã chọn.",
        "The chosen OTP phone does not exist.",
    ),
    "otp_not_delivered": ("Không gửi được mã OTP", "The OTP could not be sent"),
    "otp_phone_limit": (
        "Tài khoản đã thêm quá nhiều số điện thoại nhận OTP trong ngày. Vui lòng thử lại sau.",
        "Too many OTP phones were added to this account today; try again later.",
    ),
    "phone_not_subscribed": (
        "Số điện thoại này không được nhà mạng ghi nhận là thuê bao đang hoạt động.",
        "The carrier does not list this number as an active subscription.",
    ),
    "password_incorrect": (
        "Mật khẩu không đúng. Vui lòng nhập lại mật khẩu của tài khoản.",
        "The password is not correct.",
    ),
}


class OtpNotDelivered(Problem):
    """notify could not send the code: say so, and what to do next (in the asked language)."""

    status = 409
    code = "otp_not_delivered"

    def __init__(self, **extra: Any) -> None:
        super().__init__(**extra)

    @property
    def detail(self) -> str:
        english = has_request_context() and wants_english(request)
        return OTP_NOT_DELIVERED_DETAIL[1 if english else 0]

    @detail.setter
    def detail(self, _value: str | None) -> None:
        """The detail follows the language; the base class's value is ignored."""

    def to_dict(self, english: bool = False) -> dict[str, str]:
        """The problem as the flow state carries it (Vietnamese unless English is asked)."""
        index = 1 if english else 0
        return {
            "code": self.code,
            "title": MESSAGES[self.code][index],
            "detail": OTP_NOT_DELIVERED_DETAIL[index],
        }


def register() -> None:
    register_messages(MESSAGES)
