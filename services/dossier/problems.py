"""The dossier service's problem codes, registered with core when the context is built.

Titles are what a citizen or an officer reads (Vietnamese), then English.
"""

from __future__ import annotations

from services.core.problems import register_messages

register_messages(
    {
        "unknown_procedure": (
            "Thủ tục hành chính không tồn tại hoặc đã ngừng áp dụng.",
            "The procedure does not exist or was withdrawn.",
        ),
        "agency_not_offering": (
            "Cơ quan này không thực hiện thủ tục đã chọn.",
            "This agency does not execute the procedure.",
        ),
        "invalid_transition": (
            "Không thể thực hiện thao tác này ở trạng thái hiện tại của hồ sơ.",
            "This action is not allowed in the dossier's current status.",
        ),
        "not_editable": (
            "Hồ sơ chỉ được sửa khi chưa gửi hoặc khi được yêu cầu bổ sung.",
            "The dossier can only be edited as a draft or when a supplement is requested.",
        ),
        "incomplete": (
            "Hồ sơ chưa đầy đủ thông tin hoặc thành phần hồ sơ.",
            "The dossier is incomplete.",
        ),
        "unknown_document": (
            "Thành phần hồ sơ không thuộc thủ tục này.",
            "The document is not one of the procedure's documents.",
        ),
        "file_too_large": (
            "Tệp đính kèm vượt quá dung lượng cho phép.",
            "The file is larger than allowed.",
        ),
        "dossier_too_large": (
            "Tổng dung lượng tệp của hồ sơ vượt quá giới hạn cho phép.",
            "The dossier's files together exceed the allowed size.",
        ),
        "too_many_files": (
            "Hồ sơ đã có quá nhiều tệp đính kèm.",
            "The dossier has too many files.",
        ),
        "unsupported_file_type": (
            "Định dạng tệp không được chấp nhận (chỉ nhận PDF, JPEG, PNG, DOCX, XLSX).",
            "The file type is not accepted (PDF, JPEG, PNG, DOCX, XLSX only).",
        ),
        "file_missing": ("Chưa chọn tệp đính kèm.", "No file was sent."),
        "already_rated": ("Hồ sơ đã được đánh giá.", "The dossier was already rated."),
        "delivery_not_offered": (
            "Thủ tục không hỗ trợ hình thức nhận kết quả này.",
            "The procedure does not offer this delivery method.",
        ),
        "anonymous_not_allowed": (
            "Thủ tục này không cho phép nộp hồ sơ không cần tài khoản.",
            "This procedure cannot be filed without an account.",
        ),
    }
)
