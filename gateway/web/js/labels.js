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

export const ACCESS_RESULT = { success: "Thành công", failure: "Không thành công", failed: "Không thành công" };
