"""The pages of issue 18 in a real browser: logout revokes the session, the OTP screen
follows the code's delivery, the decoy reset screen has a way back, a weak password
says which rule failed.

The identity routes these pages call (`POST /api/identity/logout`, `GET .../otp`, the
`errors.password` of a weak password) are built beside this change: where today's
services lack them, the answers of the contract are played by Playwright routes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Request, Route, expect

from harness.portal import PortalDeployment
from tests.web.conftest import Errors, read_otp, register_citizen

PASSWORD_LABEL = re.compile(r"^Mật khẩu")
HOA = {
    "citizen_id": "038190002345",
    "full_name": "Lê Thị Hoa",
    "date_of_birth": "1990-07-25",
    "gender": "female",
    "phone": "0983456789",
}
BAO = {
    "citizen_id": "042200006789",
    "full_name": "Võ Quốc Bảo",
    "date_of_birth": "2000-05-15",
    "gender": "male",
    "phone": "0945678901",
}
# Two more, so that no one's hourly OTP budget runs out across the module.
ANH = {
    "citizen_id": "038301005678",
    "full_name": "Hoàng Ngọc Ánh",
    "date_of_birth": "2001-09-09",
    "gender": "female",
    "phone": "0868901234",
}
HUNG = {
    "citizen_id": "038067007890",
    "full_name": "Đặng Văn Hùng",
    "date_of_birth": "1967-12-20",
    "gender": "male",
    "phone": "0971234567",
}
PASSWORD = "Cay#Bang2026demo"  # no registered person's name in it
FAILED = {
    "code": "otp_not_delivered",
    "title": "Không gửi được mã OTP",
    "detail": "Nhà mạng từ chối tin nhắn. Vui lòng gửi lại sau ít phút.",
}


@pytest.fixture(scope="module", autouse=True)
def accounts(portal: PortalDeployment) -> None:
    for person in (HOA, BAO, ANH, HUNG):
        register_citizen(portal.gateway_url, person, PASSWORD)


def codes_so_far(context: BrowserContext, base: str, phone: str) -> set[str]:
    """Every OTP already in the dev outbox for `phone`: read_otp then waits for a newer one."""
    page = context.new_page()
    try:
        page.goto(f"{base}/#/hop-thu-thu-nghiem?to={phone}")
        page.wait_for_selector("main h1")
        page.wait_for_timeout(500)
        text = " ".join(page.locator(".outbox-item").all_inner_texts())
    finally:
        page.close()
    return set(re.findall(r"\b(\d{6})\b", text))


def start_login(page: Page, base: str, person: dict[str, str], password: str) -> None:
    page.goto(f"{base}/#/dang-nhap")
    page.get_by_label("Tên đăng nhập").fill(person["citizen_id"])
    page.get_by_label(PASSWORD_LABEL).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def pending_on_start(route: Route) -> None:
    """The login's POST as the contract answers it: `otp.delivery` "pending"."""
    if route.request.method != "POST":
        route.continue_()
        return
    answer = route.fetch()
    body = answer.json()
    body["otp"]["delivery"] = "pending"
    route.fulfill(response=answer, json=body)


def flow_states(states: list[dict[str, Any]], asked: list[str]) -> Any:
    def answer(route: Route) -> None:
        asked.append(route.request.url)
        state = states.pop(0) if len(states) > 1 else states[0]
        route.fulfill(status=200, json=state)

    return answer


def otp_state(delivery: str, **extra: Any) -> dict[str, Any]:
    return {
        "otp": {
            "sent_to": "098***789",
            "expires_at": "2099-01-01T00:00:00Z",
            "resend_after": "2099-01-01T00:00:00Z",
            "delivery": delivery,
        },
        **extra,
    }


def test_the_otp_screen_says_sent_only_once_delivered(
    portal: PortalDeployment, context: BrowserContext
) -> None:
    base = portal.gateway_url
    page = context.new_page()
    errors = Errors(page)
    asked: list[str] = []
    states = [otp_state("pending"), otp_state("pending"), otp_state("delivered")]
    page.route("**/api/identity/logins", pending_on_start)
    page.route("**/api/identity/logins/*/otp", flow_states(states, asked))
    start_login(page, base, HOA, PASSWORD)
    expect(page.get_by_role("heading", name="Xác thực OTP")).to_be_visible()
    expect(page.get_by_text("Đang gửi mã OTP…")).to_be_visible()
    expect(page.get_by_text("Mã OTP đã được gửi đến số điện thoại 098***789.")).to_be_visible(
        timeout=10_000
    )
    assert len(asked) >= 3 and all(re.search(r"/logins/[^/]+/otp$", url) for url in asked)
    expect(page.get_by_text("Đang gửi mã OTP…")).to_have_count(0)
    assert errors.items == []


def test_an_otp_that_was_not_delivered_is_said_with_the_ways_forward(
    portal: PortalDeployment, context: BrowserContext
) -> None:
    base = portal.gateway_url
    page = context.new_page()
    errors = Errors(page)
    asked: list[str] = []
    states = [otp_state("pending"), otp_state("failed", problem=FAILED)]
    page.route("**/api/identity/logins", pending_on_start)
    page.route("**/api/identity/logins/*/otp", flow_states(states, asked))
    start_login(page, base, BAO, PASSWORD)
    failed = page.locator("#otp-failed")
    expect(failed).to_be_visible(timeout=10_000)
    expect(failed).to_contain_text("Không gửi được mã OTP")
    expect(failed).to_contain_text("Nhà mạng từ chối tin nhắn.")
    expect(failed).to_contain_text("Gửi lại OTP")
    expect(failed).to_contain_text("Chọn phương thức xác thực khác")
    expect(failed).to_contain_text("Mất số điện thoại nhận OTP")
    expect(page.get_by_text(re.compile("Mã OTP đã được gửi"))).to_have_count(0)
    # Nothing reached the citizen: a new code may be asked for at once.
    expect(page.locator("#resend-otp")).to_be_enabled()
    expect(page.locator("#resend-otp")).to_have_text("Gửi lại OTP")
    assert errors.items == []


def test_logout_revokes_the_session_before_forgetting_it(
    portal: PortalDeployment, context: BrowserContext
) -> None:
    base = portal.gateway_url
    page = context.new_page()
    seen = codes_so_far(context, base, HOA["phone"])
    start_login(page, base, HOA, PASSWORD)
    page.get_by_label("Mã OTP").fill(read_otp(context, base, HOA["phone"], seen))
    page.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
    held = json.loads(page.evaluate("sessionStorage.getItem('portal.session')"))
    calls: list[Request] = []

    def revoke(route: Route) -> None:
        calls.append(route.request)
        route.fulfill(status=204)

    page.route("**/api/identity/logout", revoke)
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_role("navigation").get_by_role("link", name="Đăng nhập")).to_be_visible()
    (call,) = calls
    assert call.method == "POST"
    assert call.post_data_json == {"refresh_token": held["refresh_token"]}
    assert call.headers["authorization"] == f"Bearer {held['access_token']}"
    assert page.evaluate("sessionStorage.getItem('portal.session')") is None


def test_logout_still_forgets_the_tokens_when_the_call_fails(
    portal: PortalDeployment, context: BrowserContext
) -> None:
    base = portal.gateway_url
    page = context.new_page()
    seen = codes_so_far(context, base, BAO["phone"])
    start_login(page, base, BAO, PASSWORD)
    page.get_by_label("Mã OTP").fill(read_otp(context, base, BAO["phone"], seen))
    page.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
    page.route("**/api/identity/logout", lambda route: route.abort())
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_role("navigation").get_by_role("link", name="Đăng nhập")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('portal.session')") is None


def reset_screen(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/#/quen-mat-khau")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.get_by_role("heading", name="Nhập mã OTP")).to_be_visible()


def test_the_reset_screen_of_an_unknown_id_has_the_same_way_back(
    portal: PortalDeployment, context: BrowserContext
) -> None:
    base = portal.gateway_url
    page = context.new_page()
    errors = Errors(page)
    ways = []
    for username in (HUNG["citizen_id"], "038099999999"):  # an account, and no account
        reset_screen(page, base, username)
        main = page.locator("main")
        ways.append([main.get_by_role(r).all_inner_texts() for r in ("button", "link")])
        main.get_by_role("button", name="Nhập lại tên đăng nhập").click()
        expect(page.get_by_label("Tên đăng nhập")).to_be_visible()
        expect(page.get_by_role("heading", name="Nhập mã OTP")).to_have_count(0)
        reset_screen(page, base, username)
        page.locator("main").get_by_role("link", name="Quay lại Đăng nhập").click()
        expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    assert ways[0] == ways[1]
    assert errors.items == []


def test_a_weak_password_says_which_rule_failed_next_to_the_field(
    portal: PortalDeployment, context: BrowserContext
) -> None:
    base = portal.gateway_url
    page = context.new_page()
    seen = codes_so_far(context, base, ANH["phone"])
    reset_screen(page, base, ANH["citizen_id"])
    page.get_by_label("Mã OTP").fill(read_otp(context, base, ANH["phone"], seen))
    page.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_role("heading", name="Đặt mật khẩu mới")).to_be_visible()
    at_field = page.locator('[data-field="password"] .error')
    # identity's problem names each failed rule in errors.password, shown at the field
    page.get_by_label(PASSWORD_LABEL).fill("khongdumanh")
    page.get_by_label("Nhập lại mật khẩu").fill("khongdumanh")
    page.get_by_role("button", name="Đổi mật khẩu").click()
    expect(at_field).to_contain_text("Mật khẩu phải có ít nhất một chữ in hoa.")
    expect(at_field).to_contain_text("Mật khẩu phải có ít nhất một chữ số.")
    # a strong-looking password made of the person's own name and birth year
    page.get_by_label(PASSWORD_LABEL).fill("Anh@2001xyz")
    page.get_by_label("Nhập lại mật khẩu").fill("Anh@2001xyz")
    page.get_by_role("button", name="Đổi mật khẩu").click()
    expect(at_field).to_contain_text("Mật khẩu không được chứa họ hoặc tên của bạn")
    expect(page.get_by_label(PASSWORD_LABEL)).to_have_attribute("aria-invalid", "true")
