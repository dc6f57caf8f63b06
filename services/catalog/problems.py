"""The catalog service's problem codes with their Vietnamese and English titles."""

from __future__ import annotations

from services.core.problems import register_messages

UNKNOWN_FILTER = "unknown_filter"
UNKNOWN_AGENCY = "unknown_agency"
UNKNOWN_FIELD = "unknown_field"
UNKNOWN_LIFE_EVENT = "unknown_life_event"
QUERY_TOO_LONG = "query_too_long"
PROCEDURE_NOT_FOUND = "procedure_not_found"
PROCEDURE_AMBIGUOUS = "procedure_ambiguous"
PROCEDURE_EXISTS = "procedure_exists"
VERSION_CONFLICT = "version_conflict"
INVALID_FORM_SCHEMA = "invalid_form_schema"
AGENCY_OUTSIDE_PROVINCE = "agency_outside_province"
DUPLICATE_DOCUMENT = "duplicate_document"
CODE_MISMATCH = "code_mismatch"

register_messages(
    {
        UNKNOWN_FILTER: ("Bộ lọc không được hỗ trợ.", "Unknown filter."),
        UNKNOWN_AGENCY: ("Không tìm thấy cơ quan thực hiện.", "Unknown agency code."),
        UNKNOWN_FIELD: ("Không tìm thấy lĩnh vực.", "Unknown field code."),
        UNKNOWN_LIFE_EVENT: ("Không tìm thấy sự kiện.", "Unknown life event code."),
        QUERY_TOO_LONG: ("Từ khóa tìm kiếm quá dài.", "The search query is too long."),
        PROCEDURE_NOT_FOUND: (
            "Không tìm thấy thủ tục hành chính.",
            "No such administrative procedure.",
        ),
        PROCEDURE_AMBIGUOUS: (
            "Thủ tục được nhiều tỉnh cung cấp, vui lòng chọn tỉnh.",
            "Several provinces provide this procedure; choose a province.",
        ),
        PROCEDURE_EXISTS: ("Thủ tục hành chính đã được công bố.", "The procedure already exists."),
        VERSION_CONFLICT: (
            "Thủ tục đã được người khác sửa đổi, vui lòng tải lại.",
            "The procedure was changed meanwhile; reload it.",
        ),
        INVALID_FORM_SCHEMA: ("Mẫu tờ khai không hợp lệ.", "The form is not a valid JSON Schema."),
        AGENCY_OUTSIDE_PROVINCE: (
            "Cơ quan thực hiện không thuộc tỉnh này.",
            "The agency does not belong to this province.",
        ),
        DUPLICATE_DOCUMENT: (
            "Thành phần hồ sơ bị trùng mã.",
            "Two documents have the same code.",
        ),
        CODE_MISMATCH: (
            "Mã thủ tục không khớp với đường dẫn.",
            "The code in the body differs from the path.",
        ),
    }
)
