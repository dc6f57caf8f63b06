// Vietnamese names of the API's codes (GLOSSARY.md).

export const STATUS = {
  draft: "Chưa gửi",
  submitted: "Đã gửi",
  supplement_requested: "Yêu cầu bổ sung",
  processing: "Đang xử lý",
  result_returned: "Đã trả kết quả",
  rejected: "Bị trả lại",
};

export const FOLDERS = ["draft", "submitted", "supplement_requested", "processing", "result_returned", "rejected"];

export const LEVEL = {
  ministry: "Bộ, ngành",
  province: "UBND tỉnh",
  department: "Sở, ban, ngành",
  district: "UBND cấp huyện",
  commune: "UBND cấp xã",
};

export const SERVICE_LEVEL = {
  full: "Dịch vụ công trực tuyến toàn trình",
  partial: "Dịch vụ công trực tuyến một phần",
};

export const DELIVERY = {
  online: "Nhận kết quả trực tuyến",
  counter: "Nhận kết quả tại Bộ phận Một cửa",
  post: "Nhận kết quả qua bưu điện",
};

export const PROVINCE = { 38: "Thanh Hóa", 42: "Hà Tĩnh" };

export const ROLE = { citizen: "Công dân", officer: "Cán bộ", admin: "Quản trị" };

export const GENDER = { male: "Nam", female: "Nữ" };

export const ACCESS_RESULT = {
  success: "Thành công",
  accepted: "Đúng mật khẩu, chờ xác thực OTP",
  failed: "Không thành công",
  subscriber_mismatch: "Thông tin thuê bao không khớp",
};

export const ACCESS_METHOD = { password: "Mật khẩu", otp: "Mã OTP", phone_change: "Đổi số điện thoại nhận OTP" };
