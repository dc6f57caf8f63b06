"""Identity's problem codes with their Vietnamese and English titles."""

from __future__ import annotations

from services.core.problems import register_messages

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
}


def register() -> None:
    register_messages(MESSAGES)
