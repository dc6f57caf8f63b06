// Hồ sơ cá nhân (folders), a dossier's detail, lookup by code, inbox, account.
import { api, download } from "../api.js";
import { add, busy, clearErrors, describe, field, formatDate, h, notice, showError, values } from "../dom.js";
import { ACCESS_METHOD, ACCESS_RESULT, DELIVERY, FOLDERS, GENDER, ROLE, STATUS } from "../labels.js";

export function statusTag(status, overdue = false) {
  return h("span", {}, h("span", { class: "status" }, STATUS[status] || status), overdue ? h("span", { class: "tag overdue" }, " Quá hạn") : null);
}

export async function folders(view, { params }) {
  const status = params.get("status") || "";
  const page = await api("GET", `/api/dossiers?per_page=50${status ? `&status=${status}` : ""}`);
  const counts = page.counts || {};
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const link = (code, label, n) =>
    h("li", {}, h("a", { href: `#/ho-so-ca-nhan${code ? `?status=${code}` : ""}`, "aria-current": code === status ? "page" : false },
      h("span", {}, label), h("span", { class: "count", "aria-label": `${n} hồ sơ` }, String(n))));
  const rows = page.items.map((d) =>
    h("tr", {},
      h("td", { "data-label": "Mã hồ sơ" }, h("a", { href: d.status === "draft" ? `#/ho-so/${d.id}/sua` : `#/ho-so/${d.id}` }, d.code || "(chưa có mã)")),
      h("td", { "data-label": "Thủ tục" }, d.procedure_name),
      h("td", { "data-label": "Cơ quan" }, d.agency_name),
      h("td", { "data-label": "Ngày nộp" }, formatDate(d.submitted_at, false) || "—"),
      h("td", { "data-label": "Hạn trả" }, formatDate(d.due_at, false) || "—"),
      h("td", { "data-label": "Trạng thái" }, statusTag(d.status, d.overdue))));
  add(view, 
    h("h1", {}, "Hồ sơ cá nhân"),
    h("div", { class: "layout" },
      h("nav", { "aria-label": "Thư mục hồ sơ", class: "card" },
        h("ul", { class: "folders" }, link("", "Tất cả", total), FOLDERS.map((f) => link(f, STATUS[f], counts[f] || 0)))),
      h("section", {},
        h("h2", {}, status ? STATUS[status] : "Tất cả hồ sơ"),
        rows.length
          ? h("table", { class: "stack" }, h("thead", {}, h("tr", {}, ["Mã hồ sơ", "Thủ tục", "Cơ quan", "Ngày nộp", "Hạn trả", "Trạng thái"].map((t) => h("th", {}, t)))), h("tbody", {}, rows))
          : h("p", {}, "Không có hồ sơ nào."),
        h("p", {}, h("a", { class: "button", href: "#/tim-kiem" }, "Nộp hồ sơ mới")))),
  );
}

export function timeline(history) {
  return h("ol", { class: "timeline", "aria-label": "Quá trình xử lý" },
    (history || []).map((item) =>
      h("li", {},
        h("strong", {}, STATUS[item.to] || item.to), " — ", h("time", { datetime: item.at }, formatDate(item.at)),
        h("div", { class: "muted" }, ROLE[item.actor_role] || item.actor_role || ""),
        item.note ? h("div", { class: "message" }, item.note) : null)));
}

export function attachmentList(dossier, kind) {
  const items = (dossier.attachments || []).filter((a) => (kind === "result" ? a.kind === "result" : a.kind !== "result"));
  const docs = Object.fromEntries(((dossier.procedure || {}).documents || []).map((d) => [d.code, d.name]));
  if (!items.length) return h("p", { class: "muted" }, "Không có tệp.");
  return h("ul", {}, items.map((a) =>
    h("li", {}, h("button", { type: "button", class: "linkish", onclick: () => download(`/api/dossiers/${dossier.id}/attachments/${a.id}`, a.name) }, a.name),
      ` (${Math.ceil(a.size / 1024)} KB)`, a.document_code && docs[a.document_code] ? h("span", { class: "muted" }, ` — ${docs[a.document_code]}`) : null)));
}

export function facts(d) {
  return h("dl", { class: "facts card" },
    h("dt", {}, "Mã hồ sơ"), h("dd", {}, d.code || "(chưa gửi)"),
    h("dt", {}, "Thủ tục"), h("dd", {}, d.procedure_name),
    h("dt", {}, "Cơ quan giải quyết"), h("dd", {}, d.agency_name),
    h("dt", {}, "Trạng thái"), h("dd", {}, statusTag(d.status, d.overdue)),
    h("dt", {}, "Ngày nộp"), h("dd", {}, formatDate(d.submitted_at) || "—"),
    h("dt", {}, "Hạn trả kết quả"), h("dd", {}, formatDate(d.promised_at || d.due_at) || "—"),
    d.delivery ? [h("dt", {}, "Nhận kết quả"), h("dd", {}, `${DELIVERY[d.delivery.method] || d.delivery.method}${d.delivery.address ? `: ${d.delivery.address}` : ""}`)] : null);
}

export async function dossier(view, { args: [id], params }) {
  const d = await api("GET", `/api/dossiers/${id}`);
  // the "sent" notice shows once; a reload shows the plain page
  if (params.get("gui")) history.replaceState(null, "", `#/ho-so/${id}`);
  add(view, 
    h("p", {}, h("a", { href: "#/ho-so-ca-nhan" }, "← Hồ sơ cá nhân")),
    h("h1", {}, `Hồ sơ ${d.code || ""}`),
    params.get("gui") ? notice(`Hồ sơ đã được gửi đi thành công. Mã hồ sơ: ${d.code}.`, "ok") : null,
    facts(d),
  );
  if (d.status === "supplement_requested") {
    add(view, h("section", { class: "card" }, h("h2", {}, "Yêu cầu bổ sung hồ sơ"),
      h("p", { class: "message" }, d.reason || ""),
      h("a", { class: "button", href: `#/ho-so/${id}/sua` }, "Bổ sung hồ sơ")));
  }
  if (d.status === "rejected") add(view, notice(`Hồ sơ bị trả lại. Lý do: ${d.reason || ""}`, "warn"));
  if (d.status === "result_returned") {
    add(view, h("section", { class: "card" }, h("h2", {}, "Kết quả giải quyết"),
      d.result_note ? h("p", { class: "message" }, d.result_note) : null, attachmentList(d, "result")));
    add(view, rating(d));
  }
  add(view, h("h2", {}, "Quá trình xử lý"), timeline(d.history), h("h2", {}, "Thành phần hồ sơ đã nộp"), attachmentList(d, "document"));
}

function rating(d) {
  if (d.rating) {
    return h("section", { class: "card" }, h("h2", {}, "Đánh giá mức độ hài lòng"),
      h("p", {}, `Bạn đã đánh giá ${d.rating.score}/5.`), d.rating.comment ? h("p", { class: "message" }, d.rating.comment) : null);
  }
  const labels = ["Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"];
  const form = h("form", { class: "card", novalidate: true },
    h("h2", {}, "Đánh giá mức độ hài lòng"),
    h("fieldset", { "data-field": "score" }, h("legend", {}, "Mức độ hài lòng"),
      labels.map((label, i) => h("label", { style: "display:block;margin:4px 0" }, h("input", { type: "radio", name: "score", value: i + 1 }), `${i + 1} — ${label}`)),
      h("p", { class: "error", role: "alert", hidden: true })),
    field({ label: "Ý kiến", name: "comment", type: "textarea" }),
    h("button", { type: "submit" }, "Gửi đánh giá"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const v = values(form);
    const body = { score: Number(v.score) };
    if (v.comment) body.comment = v.comment;
    await busy(form.querySelector("button[type=submit]"), async () => {
      try {
        const updated = await api("POST", `/api/dossiers/${d.id}/rating`, v.score ? body : { comment: v.comment });
        form.replaceWith(rating(updated));
      } catch (error) {
        showError(form, error);
      }
    });
  });
  return form;
}

export async function lookup(view, { params }) {
  const code = params.get("code") || "";
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card", novalidate: true },
    field({ label: "Mã hồ sơ", name: "code", required: true, value: code, hint: "Ví dụ: 000.01.31.H56-261130-0001" }),
    h("button", { type: "submit" }, "Tra cứu"));
  const run = async (value) => {
    clearErrors(form);
    out.replaceChildren();
    try {
      const d = await api("GET", `/api/dossiers/lookup?code=${encodeURIComponent(value)}`);
      out.append(h("dl", { class: "facts card" },
        h("dt", {}, "Mã hồ sơ"), h("dd", {}, d.code),
        h("dt", {}, "Thủ tục"), h("dd", {}, d.procedure_name),
        h("dt", {}, "Cơ quan giải quyết"), h("dd", {}, d.agency_name),
        h("dt", {}, "Trạng thái"), h("dd", {}, h("span", { class: "status" }, STATUS[d.status] || d.status)),
        h("dt", {}, "Ngày nộp"), h("dd", {}, formatDate(d.submitted_at)),
        h("dt", {}, "Hạn trả kết quả"), h("dd", {}, formatDate(d.promised_at || d.due_at)),
        d.finished_at ? [h("dt", {}, "Ngày hoàn thành"), h("dd", {}, formatDate(d.finished_at))] : null));
    } catch (error) {
      if (error.status === 404) error.problem.title = "Không tìm thấy hồ sơ có mã này.";
      showError(form, error, "code");
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = values(form).code;
    history.replaceState(null, "", `#/tra-cuu?code=${encodeURIComponent(value)}`);
    run(value);
  });
  add(view, h("h1", {}, "Tra cứu hồ sơ"), h("p", {}, "Tra cứu tình trạng hồ sơ theo mã số hồ sơ, không cần đăng nhập. Để xem chi tiết, vui lòng đăng nhập."), form, out);
  if (code) await run(code);
}

export async function inbox(view) {
  const page = await api("GET", "/api/notify/inbox?per_page=50");
  const items = page.items.map((m) => {
    const li = h("li", { class: `card ${m.read ? "" : "unread"}` },
      h("h2", { style: "font-size:1.05rem;margin:0" }, m.subject || "Thông báo"),
      h("p", { class: "muted" }, formatDate(m.created_at), m.read ? "" : " — chưa đọc"),
      h("p", { class: "message" }, m.body));
    if (!m.read) {
      li.append(h("button", { type: "button", class: "secondary", onclick: async (e) => {
        await api("POST", `/api/notify/inbox/${m.id}/read`);
        li.classList.remove("unread");
        window.dispatchEvent(new Event("portal:inbox"));
        e.target.remove();
      } }, "Đánh dấu đã đọc"));
    }
    return li;
  });
  add(view, h("h1", {}, "Thông báo"), h("p", { role: "status" }, `${page.total} thông báo, ${page.unread} chưa đọc.`),
    items.length ? h("ul", { class: "results" }, items) : h("p", {}, "Chưa có thông báo."));
}

export async function account(view) {
  const [me, log] = await Promise.all([
    api("GET", "/api/identity/me"),
    api("GET", "/api/identity/me/access-log").catch(() => ({ items: [] })),
  ]);
  const phones = h("ul", {}, (me.otp_phones || []).map((p) => h("li", {}, p.phone, p.is_default ? " (mặc định)" : "")));
  const addPhone = h("form", { class: "card", novalidate: true }, h("h3", {}, "Thêm số điện thoại nhận OTP"),
    h("p", {}, "Số mới phải là thuê bao đã đăng ký với nhà mạng. Vì an toàn, vui lòng nhập lại mật khẩu; số điện thoại và e-mail hiện tại sẽ nhận thông báo."),
    field({ label: "Số điện thoại", name: "phone", type: "tel", required: true }),
    field({ label: "Mật khẩu hiện tại", name: "password", type: "password", required: true, attrs: { autocomplete: "current-password" } }),
    h("button", { type: "submit" }, "Thêm"));
  addPhone.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(addPhone);
    try {
      const flow = await api("POST", "/api/identity/me/otp-phones", values(addPhone));
      const { otpStep } = await import("./auth.js");
      addPhone.replaceWith(otpStep({
        otp: flow.otp,
        heading: "Xác nhận số điện thoại",
        onVerify: async (code) => {
          const phone = await api("POST", `/api/identity/me/otp-phones/${flow.id}/verify`, { code });
          phones.append(h("li", {}, phone.phone));
          view.querySelector(".card form, form.card")?.replaceWith(notice("Đã thêm số điện thoại nhận OTP.", "ok"));
        },
        onResend: () => Promise.reject(new Error("Vui lòng bắt đầu lại.")),
      }));
    } catch (error) {
      showError(addPhone, error, "phone");
    }
  });
  add(view, 
    h("h1", {}, "Tài khoản"),
    h("h2", {}, "Thông tin định danh"),
    h("dl", { class: "facts card" },
      h("dt", {}, "Họ và tên"), h("dd", {}, me.full_name),
      h("dt", {}, "Tên đăng nhập"), h("dd", {}, me.username),
      h("dt", {}, "Số CCCD/CMT"), h("dd", {}, me.citizen_id || "—"),
      h("dt", {}, "Ngày sinh"), h("dd", {}, me.date_of_birth ? formatDate(me.date_of_birth, false) : "—"),
      h("dt", {}, "Giới tính"), h("dd", {}, GENDER[me.gender] || "—"),
      h("dt", {}, "Thư điện tử"), h("dd", {}, me.email || "—"),
      h("dt", {}, "Địa chỉ"), h("dd", {}, me.address || "—"),
      h("dt", {}, "Vai trò"), h("dd", {}, (me.roles || []).map((r) => ROLE[r] || r).join(", ")),
      h("dt", {}, "Mức xác minh"), h("dd", {}, me.verification_level ? `Mức ${me.verification_level}${me.verification_level >= 2 ? " (đã được xác minh bởi nhà mạng)" : ""}` : "—")),
    h("h2", {}, "Số điện thoại nhận OTP"), phones, addPhone,
    h("h2", {}, "Lịch sử truy cập"),
    h("table", { class: "stack" }, h("thead", {}, h("tr", {}, ["Thời gian", "Bước", "Địa chỉ IP", "Trình duyệt", "Kết quả"].map((t) => h("th", {}, t)))),
      h("tbody", {}, log.items.map((row) => h("tr", {},
        h("td", { "data-label": "Thời gian" }, formatDate(row.at)),
        h("td", { "data-label": "Bước" }, ACCESS_METHOD[row.method] || row.method || ""),
        h("td", { "data-label": "Địa chỉ IP" }, row.ip || ""),
        h("td", { "data-label": "Trình duyệt" }, row.user_agent || ""), h("td", { "data-label": "Kết quả" }, ACCESS_RESULT[row.result] || row.result))))),
  );
  void describe;
}
