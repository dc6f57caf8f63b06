// Đăng ký, Đăng nhập (with its OTP step) and Quên mật khẩu.
import { api, saveTokens, hasRole } from "../api.js";
import { add, busy, clearErrors, duration, field, h, notice, showError, values } from "../dom.js";

const PASSWORD_RULES = [
  [(p) => p.length >= 8, "Từ 8 ký tự trở lên"],
  [(p) => /[a-zà-ỹ]/.test(p), "Có chữ thường"],
  [(p) => /[A-ZÀ-Ỹ]/.test(p), "Có chữ in hoa"],
  [(p) => /\d/.test(p), "Có chữ số"],
  [(p) => /[^\p{L}\p{N}]/u.test(p), "Có ký tự đặc biệt"],
];

// The rules a weak_password problem names (`rules`), in the words a citizen reads.
const RULE_TEXT = {
  too_short: "Mật khẩu phải có từ 8 ký tự trở lên.",
  too_long: "Mật khẩu quá dài.",
  no_lowercase: "Mật khẩu phải có chữ thường.",
  no_uppercase: "Mật khẩu phải có chữ in hoa.",
  no_digit: "Mật khẩu phải có chữ số.",
  no_special: "Mật khẩu phải có ký tự đặc biệt.",
  contains_personal_data: "Mật khẩu không được chứa thông tin cá nhân (họ tên, ngày sinh, số CCCD/CMT, số điện thoại).",
  too_common: "Mật khẩu quá phổ biến, dễ bị đoán.",
};

function ruleText(rule) {
  const text = String(rule);
  return RULE_TEXT[text] || (/[^\x00-\x7f]/.test(text) ? text : "");
}

function secondsUntil(iso, fallback) {
  if (fallback !== undefined && fallback !== null) return fallback;
  if (!iso) return 0;
  return Math.max(0, Math.round((new Date(iso).getTime() - Date.now()) / 1000));
}

// How often the page asks for an OTP's delivery while it is on its way (ms).
const DELIVERY_POLL_MS = 1500;

function sentText(o) {
  return o.sent_to ? `Mã OTP đã được gửi đến số điện thoại ${o.sent_to}.` : "Mã OTP đã được gửi đến số điện thoại nhận OTP của tài khoản.";
}

/**
 * The OTP screen: code, "Xác nhận", "Gửi lại OTP" with its countdown and the
 * code's expiry. `onVerify(code)` and `onResend()` call the API; resend returns {otp}.
 * `statePath` is the flow's `GET .../otp`: while the code is on its way the screen
 * says so ("Đang gửi mã OTP…"), and says it was sent only once delivered; when it
 * could not be sent it shows the problem and `waysForward` (resend is open at once).
 */
export function otpStep({ otp, heading, onVerify, onResend, extra = [], statePath = null, waysForward = [] }) {
  const codeField = field({ label: "Mã OTP", name: "code", required: true, attrs: { inputmode: "numeric", autocomplete: "one-time-code", maxlength: 6, class: "otp-input" } });
  const sentTo = h("p", {});
  const expiry = h("p", { class: "muted", "aria-live": "polite" });
  const resend = h("button", { type: "button", class: "secondary", id: "resend-otp" }, "Gửi lại OTP");
  const form = h("form", { class: "card", novalidate: true }, h("h2", {}, heading), sentTo, codeField, expiry,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Xác nhận"), resend), ...extra);
  let expiresAt = 0;
  let resendAt = 0;
  let shown = false;
  const tick = () => {
    if (form.isConnected) shown = true;
    else if (shown) return clearInterval(timer);
    const now = Date.now();
    const left = Math.round((expiresAt - now) / 1000);
    expiry.textContent = left > 0 ? `Mã OTP còn hiệu lực trong ${duration(left)}.` : "Mã OTP đã hết hạn. Vui lòng nhấn “Gửi lại OTP”.";
    const wait = Math.round((resendAt - now) / 1000);
    resend.disabled = wait > 0;
    resend.textContent = wait > 0 ? `Gửi lại OTP (${wait} giây)` : "Gửi lại OTP";
  };
  const timer = setInterval(tick, 1000);
  const failure = h("div", { class: "notice notice-error", role: "alert", id: "otp-failed", hidden: true });
  sentTo.after(failure);
  let following = 0;
  const delivered = (o) => {
    failure.hidden = true;
    sentTo.textContent = sentText(o);
  };
  const failed = (o, problem) => {
    resendAt = 0; // nothing reached the person: a new code may be asked for at once
    sentTo.textContent = "";
    const p = problem || {};
    failure.replaceChildren(
      h("strong", {}, p.title || "Không gửi được mã OTP"),
      p.detail ? h("p", {}, p.detail) : null,
      h("p", {}, "Bạn có thể:"),
      h("ul", {}, h("li", {}, "nhấn “Gửi lại OTP” để nhận mã mới"), ...waysForward.map((w) => h("li", {}, w))),
    );
    failure.hidden = false;
    tick();
  };
  // Follow the flow's state until the code is delivered or has failed.
  const follow = async (o, round) => {
    if (round !== following || !statePath) return;
    if (form.isConnected === false && shown) return;
    if (o.expires_at && Date.now() > expiresAt) return; // the code is spent: "Gửi lại OTP" is the way on
    let state;
    try {
      state = await api("GET", statePath);
    } catch (error) {
      // A portal without the state route: the POST's answer is all there is.
      if ([404, 405].includes(error.status)) return o.delivery === "pending" ? null : delivered(o);
      return setTimeout(() => follow(o, round), DELIVERY_POLL_MS * 2);
    }
    if (round !== following) return;
    const current = { ...o, ...(state.otp || {}) };
    if (current.delivery === "delivered") return delivered(current);
    if (current.delivery === "failed") return failed(current, state.problem);
    if (current.delivery !== "pending") return delivered(current);
    setTimeout(() => follow(current, round), DELIVERY_POLL_MS);
  };
  const show = (o) => {
    following += 1;
    failure.hidden = true;
    if (o.delivery === "failed") failed(o, o.problem);
    else if (o.delivery === "delivered" || (!o.delivery && !statePath)) delivered(o);
    else sentTo.textContent = "Đang gửi mã OTP…";
    expiresAt = Date.now() + 1000 * secondsUntil(o.expires_at);
    resendAt = o.delivery === "failed" ? 0 : Date.now() + 1000 * secondsUntil(o.resend_after, o.resend_in);
    tick();
    if (statePath && o.delivery !== "delivered" && o.delivery !== "failed") follow(o, following);
  };
  show(otp);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    clearErrors(form);
    await busy(button, async () => {
      try {
        await onVerify(form.querySelector("[name=code]").value.trim());
      } catch (error) {
        showError(form, error, "code");
        if (!error.errors || !Object.keys(error.errors).length) {
          const slot = form.querySelector('[data-field="code"] .error');
          slot.textContent = form.querySelector(".form-error").textContent;
          slot.hidden = false;
          form.querySelector(".form-error").hidden = true;
          form.querySelector("[name=code]").setAttribute("aria-invalid", "true");
        }
      }
    });
  });
  resend.addEventListener("click", async () => {
    clearErrors(form);
    try {
      const answer = await onResend();
      const o = answer.otp || answer;
      show(o);
      if (!o.delivery || o.delivery === "delivered") form.prepend(notice("Đã gửi lại mã OTP.", "ok"));
    } catch (error) {
      showError(form, error);
      if (error.problem?.retry_after) {
        resendAt = Date.now() + 1000 * error.problem.retry_after;
        tick();
      }
    }
  });
  form.show = show;
  setTimeout(() => form.querySelector("[name=code]").focus(), 0);
  return form;
}

function passwordStep({ heading, button, onSubmit }) {
  const rules = h("ul", { class: "rule", id: "password-rule", "aria-live": "polite" }, PASSWORD_RULES.map(([, text]) => h("li", {}, text)));
  const form = h(
    "form",
    { class: "card", novalidate: true },
    h("h2", {}, heading),
    h("p", {}, "Quy tắc đặt mật khẩu: sử dụng 8 ký tự trở lên bao gồm chữ thường, chữ in hoa, số và ký tự đặc biệt."),
    field({ label: "Mật khẩu", name: "password", type: "password", required: true, attrs: { autocomplete: "new-password" } }),
    rules,
    h("p", { class: "hint" }, "Mật khẩu không được chứa số CMT/CCCD, số điện thoại và không quá phổ biến."),
    field({ label: "Nhập lại mật khẩu", name: "password_confirmation", type: "password", required: true, attrs: { autocomplete: "new-password" } }),
    h("button", { type: "submit" }, button),
  );
  form.querySelector("[name=password]").addEventListener("input", (event) => {
    const value = event.target.value;
    PASSWORD_RULES.forEach(([test], i) => rules.children[i].classList.toggle("met", test(value)));
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    await busy(form.querySelector("button[type=submit]"), async () => {
      try {
        await onSubmit(values(form));
      } catch (error) {
        showError(form, error, "password");
        if (["weak_password", "password_mismatch"].includes(error.code) && !Object.keys(error.errors).length) {
          const name = error.code === "weak_password" ? "password" : "password_confirmation";
          const slot = form.querySelector(`[data-field="${name}"] .error`);
          // Which rule failed: the problem's rules when it names them, else its title.
          const rules = Array.isArray(error.problem.rules) ? error.problem.rules.map(ruleText).filter(Boolean) : [];
          slot.textContent = rules.length ? rules.join(" ") : error.problem.title;
          slot.hidden = false;
        }
        if (error.code === "weak_password") {
          form.querySelector("[name=password]").setAttribute("aria-invalid", "true");
          form.querySelector('[data-field="password"] .error').id = "password-problem";
        }
      }
    });
  });
  return form;
}

/** Đăng ký: phương thức → thông tin → OTP → mật khẩu. */
export async function register(view) {
  const steps = ["Chọn phương thức đăng ký", "Nhập thông tin", "Xác nhận OTP", "Đặt mật khẩu"];
  const stepper = h("ol", { class: "steps", "aria-label": "Các bước đăng ký" }, steps.map((s) => h("li", {}, s)));
  const body = h("div");
  const setStep = (i, content) => {
    [...stepper.children].forEach((li, j) => (j === i ? li.setAttribute("aria-current", "step") : li.removeAttribute("aria-current")));
    body.replaceChildren(content);
  };
  add(view, h("h1", {}, "Đăng ký tài khoản"), stepper, body);

  const choose = h(
    "form",
    { class: "card" },
    h("h2", {}, "Chọn phương thức đăng ký"),
    h("fieldset", {}, h("legend", {}, "Đối tượng đăng ký"), h("div", { class: "choice" },
      h("label", {}, h("input", { type: "radio", name: "audience", value: "citizen", checked: true }), h("span", {}, "Công dân")),
      h("label", {}, h("input", { type: "radio", name: "audience", value: "business" }), h("span", {}, "Tổ chức, doanh nghiệp")))),
    h("fieldset", {}, h("legend", {}, "Phương thức"), h("div", { class: "choice" },
      h("label", {}, h("input", { type: "radio", name: "method", value: "mobile", checked: true }), h("span", {}, "Thuê bao di động")))),
    h("p", { class: "hint" }, "Chú ý: Đăng ký bằng thuê bao di động chỉ dành cho Công dân. Thuê bao phải là thuê bao chính chủ."),
    h("button", { type: "submit" }, "Tiếp tục"),
  );
  choose.addEventListener("submit", (event) => {
    event.preventDefault();
    if (values(choose).audience !== "citizen") {
      choose.querySelector(".notice")?.remove();
      choose.prepend(notice("Tổ chức, doanh nghiệp đăng ký bằng chữ ký số tại Cổng DVC Quốc gia; thuê bao di động chỉ dành cho Công dân.", "warn"));
      return;
    }
    setStep(1, details());
  });

  const details = () => {
    const form = h(
      "form",
      { class: "card", novalidate: true },
      h("h2", {}, "Đăng ký bằng thuê bao di động"),
      h("p", { class: "hint" }, "Các trường có dấu * là các trường bắt buộc."),
      h("div", { class: "grid2" },
        field({ label: "Số CCCD/CMT", name: "citizen_id", required: true, hint: "12 số CCCD hoặc 9 số CMT", attrs: { inputmode: "numeric", autocomplete: "off" } }),
        field({ label: "Họ và tên", name: "full_name", required: true, attrs: { autocomplete: "name" } }),
        field({ label: "Ngày sinh", name: "date_of_birth", type: "date", required: true, attrs: { autocomplete: "bday" } }),
        field({ label: "Giới tính", name: "gender", required: true, options: [["", "Chọn giới tính"], ["male", "Nam"], ["female", "Nữ"]] }),
        field({ label: "Số điện thoại di động", name: "phone", type: "tel", required: true, hint: "Thuê bao đăng ký chính chủ", attrs: { autocomplete: "tel" } }),
        field({ label: "Thư điện tử", name: "email", type: "email", attrs: { autocomplete: "email" } }),
      ),
      field({ label: "Địa chỉ", name: "address", attrs: { autocomplete: "street-address" } }),
      h("button", { type: "submit" }, "Đăng ký"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = values(form);
      for (const key of ["email", "address"]) if (!body[key]) delete body[key];
      await busy(form.querySelector("button[type=submit]"), async () => {
        try {
          const started = await api("POST", "/api/identity/registrations", body);
          setStep(2, otp(started));
        } catch (error) {
          showError(form, error);
          if (error.code === "account_exists") {
            form.querySelector(".form-error").append(" ", h("a", { href: "#/quen-mat-khau" }, "Quên mật khẩu"));
          }
        }
      });
    });
    return form;
  };

  const otp = (started) =>
    otpStep({
      otp: started.otp,
      heading: "Nhập mã OTP",
      statePath: `/api/identity/registrations/${started.id}/otp`,
      waysForward: ["quay lại bước “Nhập thông tin” để kiểm tra số điện thoại di động đã nhập"],
      onVerify: async (code) => {
        await api("POST", `/api/identity/registrations/${started.id}/otp/verify`, { code });
        setStep(3, password(started));
      },
      onResend: () => api("POST", `/api/identity/registrations/${started.id}/otp/resend`),
    });

  const password = (started) =>
    passwordStep({
      heading: "Đặt mật khẩu",
      button: "Đăng ký",
      onSubmit: async (passwords) => {
        const account = await api("POST", `/api/identity/registrations/${started.id}/complete`, passwords);
        [...stepper.children].forEach((li) => li.removeAttribute("aria-current"));
        body.replaceChildren(
          h("div", { class: "card" },
            notice(`Đăng ký tài khoản thành công. Tài khoản có mức xác minh ${account.verification_level}, đã được xác minh bởi nhà mạng.`, "ok"),
            h("a", { class: "button", href: "#/dang-nhap" }, "Đăng nhập")),
        );
      },
    });

  setStep(0, choose);
}

function afterLogin() {
  const next = sessionStorage.getItem("portal.after-login");
  sessionStorage.removeItem("portal.after-login");
  if (next) location.hash = next;
  else location.hash = hasRole("officer") ? "#/can-bo" : hasRole("citizen") ? "#/ho-so-ca-nhan" : "#/tai-khoan";
}

/** Đăng nhập: CMT/CCCD + mật khẩu, then the OTP with its alternatives. */
export async function login(view) {
  const body = h("div");
  add(view, h("h1", {}, "Đăng nhập"), body);
  const form = h(
    "form",
    { class: "card", novalidate: true },
    h("div", { role: "tablist", class: "choice", "aria-label": "Cách đăng nhập" },
      h("span", { role: "tab", "aria-selected": "true", class: "tag" }, "CMT/CCCD")),
    field({ label: "Tên đăng nhập", name: "username", required: true, hint: "Số CMT hoặc CCCD (cán bộ: tên đăng nhập được cấp)", attrs: { autocomplete: "username" } }),
    field({ label: "Mật khẩu", name: "password", type: "password", required: true, attrs: { autocomplete: "current-password" } }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Đăng nhập"),
      h("a", { href: "#/quen-mat-khau" }, "Quên mật khẩu"), h("a", { href: "#/dang-ky" }, "Đăng ký")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    await busy(form.querySelector("button[type=submit]"), async () => {
      try {
        const started = await api("POST", "/api/identity/logins", values(form));
        body.replaceChildren(loginOtp(started));
      } catch (error) {
        showError(form, error, "password");
      }
    });
  });

  const loginOtp = (started) => {
    const others = h("div", { hidden: true, class: "card", id: "other-phones" });
    const lost = h("div", { hidden: true, id: "lost-phone" });
    const step = otpStep({
      otp: started.otp,
      heading: "Xác thực OTP",
      statePath: `/api/identity/logins/${started.id}/otp`,
      waysForward: [
        "chọn “Chọn phương thức xác thực khác” để nhận mã qua số điện thoại nhận OTP khác",
        "chọn “Mất số điện thoại nhận OTP” nếu bạn không còn dùng số này",
      ],
      onVerify: async (code) => {
        saveTokens(await api("POST", `/api/identity/logins/${started.id}/otp/verify`, { code }));
        afterLogin();
      },
      onResend: () => api("POST", `/api/identity/logins/${started.id}/otp/resend`, {}),
      extra: [
        h("div", { class: "actions" },
          h("button", { type: "button", class: "linkish", onclick: () => { others.hidden = !others.hidden; } }, "Chọn phương thức xác thực khác"),
          h("button", { type: "button", class: "linkish", onclick: () => { lost.hidden = false; lost.replaceChildren(phoneChange(started)); lost.querySelector("input").focus(); } }, "Mất số điện thoại nhận OTP")),
      ],
    });
    const phones = started.otp_phones || [];
    others.append(
      h("h3", {}, "Chọn số điện thoại nhận OTP"),
      phones.length > 1
        ? h("ul", {}, phones.map((phone, index) => h("li", {}, h("button", { type: "button", class: "secondary", onclick: async () => {
            try {
              const answer = await api("POST", `/api/identity/logins/${started.id}/otp/resend`, { phone_index: index });
              step.show({ ...(answer.otp || answer), sent_to: answer.otp?.sent_to || phone });
              others.hidden = true;
            } catch (error) { showError(others, error); }
          } }, `Gửi OTP đến ${phone}`))))
        : h("p", {}, "Tài khoản chỉ có một số điện thoại nhận OTP. Thêm số khác tại trang Tài khoản sau khi đăng nhập, hoặc dùng “Mất số điện thoại nhận OTP”."),
    );
    return h("div", {}, step, others, lost);
  };

  const phoneChange = (started) => {
    const box = h("div");
    const form2 = h(
      "form",
      { class: "card", novalidate: true },
      h("h2", {}, "Mất số điện thoại nhận OTP"),
      h("p", {}, "Nhập số điện thoại mới nhận OTP. Số mới phải là thuê bao chính chủ: hệ thống sẽ so sánh thông tin định danh của tài khoản với CSDL thuê bao nhà mạng."),
      field({ label: "Số điện thoại nhận OTP mới", name: "phone", type: "tel", required: true }),
      h("button", { type: "submit" }, "Đăng ký"),
    );
    form2.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form2);
      await busy(form2.querySelector("button[type=submit]"), async () => {
        try {
          const answer = await api("POST", `/api/identity/logins/${started.id}/phone-change`, values(form2));
          box.replaceChildren(otpStep({
            otp: answer.otp,
            heading: "Xác nhận số điện thoại mới",
            statePath: `/api/identity/logins/${started.id}/phone-change/otp`,
            waysForward: ["kiểm tra lại số điện thoại mới và nhập lại"],
            onVerify: async (code) => {
              saveTokens(await api("POST", `/api/identity/logins/${started.id}/phone-change/verify`, { code }));
              afterLogin();
            },
            onResend: () => api("POST", `/api/identity/logins/${started.id}/phone-change/otp/resend`),
          }));
        } catch (error) {
          showError(form2, error, "phone");
        }
      });
    });
    box.append(form2);
    return box;
  };

  body.append(form);
}

/** Quên mật khẩu: tên đăng nhập → OTP → mật khẩu mới. */
export async function reset(view) {
  const body = h("div");
  add(view, h("h1", {}, "Quên mật khẩu"), body);
  const form = h(
    "form",
    { class: "card", novalidate: true },
    field({ label: "Tên đăng nhập", name: "username", required: true, hint: "Số CMT hoặc CCCD" }),
    h("button", { type: "submit" }, "Tiếp tục"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    await busy(form.querySelector("button[type=submit]"), async () => {
      try {
        const started = await api("POST", "/api/identity/password-resets", values(form));
        body.replaceChildren(otpStep({
          otp: started.otp,
          heading: "Nhập mã OTP",
          statePath: `/api/identity/password-resets/${started.id}/otp`,
          waysForward: ["quay lại và kiểm tra tên đăng nhập (số CMT/CCCD) đã nhập"],
          // The way back, the same whatever the name entered (an unknown one included).
          extra: [
            h("div", { class: "actions" },
              h("button", { type: "button", class: "linkish", id: "reset-back", onclick: () => { body.replaceChildren(form); form.querySelector("[name=username]").focus(); } }, "Nhập lại tên đăng nhập"),
              h("a", { href: "#/dang-nhap" }, "Quay lại Đăng nhập")),
          ],
          onVerify: async (code) => {
            await api("POST", `/api/identity/password-resets/${started.id}/otp/verify`, { code });
            body.replaceChildren(passwordStep({
              heading: "Đặt mật khẩu mới",
              button: "Đổi mật khẩu",
              onSubmit: async (passwords) => {
                await api("POST", `/api/identity/password-resets/${started.id}/complete`, passwords);
                body.replaceChildren(h("div", { class: "card" }, notice("Đã đặt lại mật khẩu.", "ok"), h("a", { class: "button", href: "#/dang-nhap" }, "Đăng nhập")));
              },
            }));
          },
          onResend: () => api("POST", `/api/identity/password-resets/${started.id}/otp/resend`),
        }));
      } catch (error) {
        showError(form, error, "username");
      }
    });
  });
  body.append(form);
}
