// Hộp thư thử nghiệm: the SMS and e-mails the dev outbox "sent" (make run, tests).
import { api } from "../api.js";
import { add, field, formatDate, h, notice, showError, values } from "../dom.js";

export async function page(view, { params }) {
  const to = params.get("to") || "";
  const form = h("form", { class: "card", novalidate: true },
    field({ label: "Số điện thoại hoặc thư điện tử", name: "to", value: to, hint: "Để trống để xem tất cả" }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Xem"), h("button", { type: "button", class: "secondary", id: "outbox-refresh", onclick: () => load() }, "Làm mới")));
  const out = h("div", { "aria-live": "polite" });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = values(form).to;
    location.hash = `#/hop-thu-thu-nghiem${v ? `?to=${encodeURIComponent(v)}` : ""}`;
  });
  const load = async () => {
    out.replaceChildren();
    try {
      const data = await api("GET", `/api/notify/dev/outbox${to ? `?to=${encodeURIComponent(to)}` : ""}`);
      if (!data.items.length) {
        out.append(h("p", {}, "Chưa có tin nhắn hoặc thư nào."));
        return;
      }
      out.append(h("ul", { class: "results" }, data.items.map((m) =>
        h("li", { class: "card outbox-item" },
          h("p", {}, h("span", { class: "tag" }, m.channel === "sms" ? "SMS" : "Thư điện tử"), h("strong", {}, m.to), h("span", { class: "muted" }, ` — ${formatDate(m.created_at)}`)),
          m.subject ? h("p", {}, h("strong", {}, m.subject)) : null,
          h("p", { class: "message" }, m.body)))));
    } catch (error) {
      if (error.status === 404) out.append(notice("Hộp thư thử nghiệm không được bật trên cổng này.", "warn"));
      else showError(form, error, "to");
    }
  };
  add(view, h("h1", {}, "Hộp thư thử nghiệm"),
    h("p", {}, "Tin nhắn SMS và thư điện tử hệ thống đã “gửi” khi hộp thư thử nghiệm được bật (môi trường phát triển). Dùng để đọc mã OTP."),
    form, out);
  await load();
}
