// The officers' console: the agency's queue by due date, a dossier and its actions.
import { api, session, upload } from "../api.js";
import { add, busy, clearErrors, field, formatDate, h, notice, showError, values } from "../dom.js";
import { STATUS } from "../labels.js";
import { PART_TITLES } from "../schemaform.js";
import { attachmentList, facts, statusTag, timeline } from "./citizen.js";

export async function queue(view, { params }) {
  const status = params.get("status") || "";
  const page = await api("GET", `/api/dossiers?per_page=100${status ? `&status=${status}` : ""}`);
  const counts = page.counts || {};
  const tabs = ["", "submitted", "processing", "supplement_requested", "result_returned", "rejected"];
  const rows = page.items.map((d) =>
    h("tr", { class: d.overdue ? "is-overdue" : "" },
      h("td", { "data-label": "Hạn trả" }, formatDate(d.promised_at || d.due_at, false) || "—", d.overdue ? h("span", { class: "tag overdue" }, " Quá hạn") : null),
      h("td", { "data-label": "Mã hồ sơ" }, h("a", { href: `#/can-bo/ho-so/${d.id}` }, d.code || d.id)),
      h("td", { "data-label": "Thủ tục" }, d.procedure_name),
      h("td", { "data-label": "Ngày nộp" }, formatDate(d.submitted_at)),
      h("td", { "data-label": "Trạng thái" }, statusTag(d.status))));
  add(view, 
    h("h1", {}, "Hồ sơ cần xử lý"),
    h("p", {}, `Cơ quan: ${page.items[0]?.agency_name || session().claims.agency || ""}`),
    h("p", { class: "hint" }, "Hồ sơ xếp theo hạn trả kết quả, hồ sơ quá hạn được đánh dấu."),
    h("nav", { "aria-label": "Lọc theo trạng thái" }, h("ul", { class: "choice", style: "list-style:none;padding:0" },
      tabs.map((t) => h("li", {}, h("a", { href: `#/can-bo${t ? `?status=${t}` : ""}`, "aria-current": t === status ? "page" : false },
        t ? `${STATUS[t]} (${counts[t] || 0})` : "Tất cả"))))),
    rows.length
      ? h("table", { class: "stack" }, h("caption", { class: "visually-hidden" }, "Hồ sơ theo hạn trả kết quả"),
          h("thead", {}, h("tr", {}, ["Hạn trả", "Mã hồ sơ", "Thủ tục", "Ngày nộp", "Trạng thái"].map((t) => h("th", {}, t)))), h("tbody", {}, rows))
      : h("p", {}, "Không có hồ sơ."),
  );
}

function declaration(form, schema) {
  if (!form || !Object.keys(form).length) return h("p", { class: "muted" }, "Không có tờ khai.");
  const rows = [];
  const walk = (node, part, titles) => {
    for (const [key, value] of Object.entries(node)) {
      const sub = (part && part.properties && part.properties[key]) || {};
      const title = sub.title || PART_TITLES[key] || key;
      if (value && typeof value === "object") {
        rows.push(h("tr", {}, h("th", { colspan: 2, scope: "rowgroup" }, [...titles, title].join(" › "))));
        walk(value, sub, [...titles, title]);
      } else {
        let shown = value === "male" ? "Nam" : value === "female" ? "Nữ" : String(value);
        if (/^\d{4}-\d{2}-\d{2}$/.test(shown)) shown = formatDate(shown, false);
        rows.push(h("tr", {}, h("th", { scope: "row" }, title), h("td", {}, shown)));
      }
    }
  };
  walk(form, schema || {}, []);
  return h("table", {}, h("tbody", {}, rows));
}

function person(p) {
  if (!p) return "—";
  return [p.full_name, p.citizen_id, p.phone, p.email, p.address].filter(Boolean).join(" · ");
}

export async function dossier(view, { args: [id] }) {
  const d = await api("GET", `/api/dossiers/${id}`);
  const actions = h("section", { class: "card", "aria-labelledby": "actions-title" }, h("h2", { id: "actions-title" }, "Xử lý hồ sơ"));
  const done = (text) => {
    location.hash = `#/can-bo/ho-so/${id}?t=${Date.now()}`;
    sessionStorage.setItem("portal.flash", text);
  };
  const reasonForm = (label, path, button, klass = "") => {
    const form = h("form", { class: "card", novalidate: true }, field({ label, name: "reason", type: "textarea", required: true }), h("button", { type: "submit", class: klass }, button));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      await busy(form.querySelector("button"), async () => {
        try {
          await api("POST", `/api/dossiers/${id}/${path}`, values(form));
          done(`${button}: đã thực hiện.`);
        } catch (error) {
          showError(form, error, "reason");
        }
      });
    });
    return form;
  };
  if (d.status === "submitted") {
    const receive = h("button", { type: "button" }, "Tiếp nhận hồ sơ");
    receive.addEventListener("click", () => busy(receive, async () => {
      try {
        await api("POST", `/api/dossiers/${id}/receive`);
        done("Đã tiếp nhận hồ sơ.");
      } catch (error) {
        showError(actions, error);
      }
    }));
    actions.append(h("div", { class: "actions" }, receive));
  }
  if (["submitted", "processing"].includes(d.status)) {
    if (d.status === "processing") {
      actions.append(h("h3", {}, "Yêu cầu bổ sung"), reasonForm("Lý do yêu cầu bổ sung", "request-supplement", "Yêu cầu bổ sung"));
      const result = h("form", { class: "card", novalidate: true },
        field({ label: "Ghi chú kết quả", name: "note", type: "textarea" }),
        h("div", { class: "field", "data-field": "file" }, h("label", { for: "result-files" }, "Tệp kết quả"),
          h("input", { type: "file", id: "result-files", name: "file", multiple: true, accept: ".pdf,.jpg,.jpeg,.png,.doc,.docx" }),
          h("p", { class: "error", role: "alert", hidden: true })),
        h("progress", { max: 100, value: 0, hidden: true, "aria-label": "Tiến độ tải lên" }),
        h("button", { type: "submit" }, "Trả kết quả"));
      result.addEventListener("submit", async (event) => {
        event.preventDefault();
        clearErrors(result);
        const data = new FormData();
        data.append("note", result.querySelector("[name=note]").value);
        for (const file of result.querySelector("[name=file]").files) data.append("file", file);
        const bar = result.querySelector("progress");
        bar.hidden = false;
        await busy(result.querySelector("button"), async () => {
          try {
            await upload(`/api/dossiers/${id}/return-result`, data, (p) => { bar.value = p; });
            done("Đã trả kết quả.");
          } catch (error) {
            bar.hidden = true;
            showError(result, error, "file");
          }
        });
      });
      actions.append(h("h3", {}, "Trả kết quả"), result);
    }
    actions.append(h("h3", {}, "Trả lại hồ sơ"), reasonForm("Lý do trả lại hồ sơ", "reject", "Trả lại hồ sơ", "danger"));
  } else if (d.status !== "submitted") {
    actions.append(h("p", {}, d.status === "supplement_requested" ? "Đang chờ công dân bổ sung hồ sơ." : "Hồ sơ đã kết thúc xử lý."));
  }
  const flash = sessionStorage.getItem("portal.flash");
  sessionStorage.removeItem("portal.flash");
  add(view, 
    h("p", {}, h("a", { href: "#/can-bo" }, "← Hồ sơ cần xử lý")),
    h("h1", {}, `Hồ sơ ${d.code || ""}`),
    flash ? notice(flash, "ok") : null,
    facts(d),
    h("h2", {}, "Người nộp và chủ hồ sơ"),
    h("dl", { class: "facts card" }, h("dt", {}, "Người nộp"), h("dd", {}, person(d.applicant)),
      h("dt", {}, "Chủ hồ sơ"), h("dd", {}, d.owner_same_as_applicant ? "Là người nộp" : person(d.owner))),
    h("h2", {}, "Thành phần hồ sơ"), attachmentList(d, "document"),
    h("h2", {}, "Tờ khai"), declaration(d.form, (d.procedure || {}).form),
    d.status === "result_returned" ? [h("h2", {}, "Kết quả"), attachmentList(d, "result")] : null,
    actions,
    h("h2", {}, "Quá trình xử lý"), timeline(d.history),
  );
}
