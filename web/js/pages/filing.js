// Nộp hồ sơ: a draft, then the steps of the seed guides — người nộp, chủ hồ sơ,
// tờ khai, thành phần hồ sơ, hình thức nhận kết quả — and "Gửi đi".
import { api, upload } from "../api.js";
import { add, busy, clearErrors, describe, field, h, notice, showError, values } from "../dom.js";
import { DELIVERY } from "../labels.js";
import { exportDeclaration, readSchema, renderSchema } from "../schemaform.js";

export async function start(view, { args: [code], params }) {
  const agency = params.get("co-quan");
  add(view, h("h1", {}, "Nộp hồ sơ"));
  try {
    const draft = await api("POST", "/api/dossiers", { procedure_code: code, agency_code: agency });
    location.replace(`#/ho-so/${draft.id}/sua`);
  } catch (error) {
    add(view, notice(describe(error.problem || error), "error"), h("a", { href: `#/thu-tuc/${encodeURIComponent(code)}` }, "Quay lại thủ tục"));
  }
}

const PERSON = [
  ["full_name", "Họ và tên", "text", true],
  ["citizen_id", "Số CCCD/CMT", "text", false],
  ["date_of_birth", "Ngày sinh", "date", false],
  ["phone", "Số điện thoại", "tel", false],
  ["email", "Thư điện tử", "email", false],
  ["address", "Địa chỉ", "text", false],
];

function personFields(prefix, person = {}, requiredPhone = false) {
  return h(
    "div",
    { class: "grid2" },
    PERSON.map(([key, label, type, required]) =>
      field({ label, name: `${prefix}.${key}`, type, required: required || (requiredPhone && key === "phone"), value: person[key] || "" }),
    ),
  );
}

function readPerson(form, prefix) {
  const all = values(form);
  const out = {};
  for (const [key] of PERSON) {
    const value = all[`${prefix}.${key}`];
    if (value) out[key] = value;
  }
  return out;
}

function missingText(dossier, missing) {
  const docs = Object.fromEntries((dossier.procedure.documents || []).map((d) => [d.code, d.name]));
  const names = {
    "applicant.full_name": "Họ và tên người nộp",
    "applicant.phone": "Số điện thoại người nộp",
    owner: "Thông tin chủ hồ sơ",
    "delivery.method": "Hình thức nhận kết quả",
    "delivery.address": "Địa chỉ nhận kết quả qua bưu điện",
  };
  return (missing || []).map((m) => {
    if (m.kind === "document") return `Thành phần hồ sơ: ${docs[m.code || m.document_code] || m.name || m.code}`;
    if (m.field && m.field.startsWith("form.")) return `Tờ khai: ${m.field.slice(5)}`;
    return names[m.field] || m.field || m.name || JSON.stringify(m);
  });
}

export async function wizard(view, { args: [id] }) {
  let dossier = await api("GET", `/api/dossiers/${id}`);
  const me = await api("GET", "/api/identity/me").catch(() => ({}));
  const procedure = dossier.procedure || {};
  const supplementing = dossier.status === "supplement_requested";
  if (!["draft", "supplement_requested"].includes(dossier.status)) {
    location.replace(`#/ho-so/${id}`);
    return;
  }
  const names = ["Thông tin người nộp", "Thông tin chủ hồ sơ", "Tờ khai", "Thành phần hồ sơ", "Nhận kết quả và gửi đi"];
  const stepper = h("ol", { class: "steps", "aria-label": "Các bước nộp hồ sơ" }, names.map((n, i) => h("li", {}, `${i + 1}. ${n}`)));
  const body = h("div");
  add(view, 
    h("h1", {}, supplementing ? "Bổ sung hồ sơ" : "Nộp hồ sơ trực tuyến"),
    h("p", {}, h("strong", {}, procedure.name || dossier.procedure_name), ` — ${dossier.agency_name}`),
    supplementing && dossier.reason ? notice(`Yêu cầu bổ sung: ${dossier.reason}`, "warn") : null,
    stepper,
    body,
  );
  const show = (i) => {
    [...stepper.children].forEach((li, j) => (j === i ? li.setAttribute("aria-current", "step") : li.removeAttribute("aria-current")));
    body.replaceChildren(STEPS[i]());
    const first = body.querySelector("h2");
    if (first) {
      first.setAttribute("tabindex", "-1");
      first.focus();
    }
  };
  const nav = (i, label = "Tiếp tục") =>
    h("div", { class: "actions" },
      i > 0 ? h("button", { type: "button", class: "secondary", onclick: () => show(i - 1) }, "Quay lại") : null,
      h("button", { type: "submit" }, label));
  const step = (i, heading, content, save, label) => {
    const form = h("form", { class: "card", novalidate: true }, h("h2", {}, heading), content, nav(i, label));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      await busy(form.querySelector("button[type=submit]"), async () => {
        try {
          await save(form);
          if (i + 1 < STEPS.length) show(i + 1);
        } catch (error) {
          showError(form, error);
        }
      });
    });
    return form;
  };
  const patch = async (changes) => {
    dossier = await api("PATCH", `/api/dossiers/${id}`, changes);
  };

  const STEPS = [
    () => {
      const applicant = dossier.applicant || {
        full_name: me.full_name, citizen_id: me.citizen_id, date_of_birth: me.date_of_birth,
        email: me.email, address: me.address,
      };
      return step(0, "Thông tin người nộp hồ sơ", [h("p", { class: "hint" }, "Các trường có dấu * là bắt buộc."), personFields("applicant", applicant, true)],
        (form) => patch({ applicant: readPerson(form, "applicant") }));
    },
    () => {
      const content = h("div", {}, personFields("owner", dossier.owner_same_as_applicant ? dossier.applicant : dossier.owner || {}));
      const copy = h("button", { type: "button", class: "secondary", onclick: () => {
        for (const [key] of PERSON) {
          const input = content.querySelector(`[name="owner.${key}"]`);
          input.value = (dossier.applicant || {})[key] || "";
        }
        content.querySelector('[name="owner.full_name"]').focus();
      } }, "Lấy thông tin từ người nộp");
      return step(1, "Thông tin chủ hồ sơ", [h("p", {}, "Trường hợp người nộp hồ sơ đồng thời là chủ hồ sơ, nhấn “Lấy thông tin từ người nộp”."), copy, content],
        (form) => {
          const owner = readPerson(form, "owner");
          const same = JSON.stringify(owner) === JSON.stringify(readPersonFrom(dossier.applicant));
          return patch(same ? { owner_same_as_applicant: true } : { owner, owner_same_as_applicant: false });
        });
    },
    () => {
      const schema = procedure.form && procedure.form.properties ? procedure.form : null;
      const content = schema
        ? [
            h("p", {}, schema.title ? h("strong", {}, schema.title) : null),
            h("p", { class: "hint" }, "Điền tờ khai trên màn hình; “Trích xuất biểu mẫu” lưu tờ khai đã điền về máy để in hoặc lưu lại."),
            renderSchema(schema, dossier.form || {}),
            h("button", { type: "button", class: "secondary", onclick: (e) => exportDeclaration(schema, readSchema(schema, e.target.closest("form"))) }, "Trích xuất biểu mẫu"),
          ]
        : [h("p", {}, "Thủ tục này không có tờ khai trực tuyến; đính kèm mẫu đơn ở bước sau.")];
      return step(2, "Nhập tờ khai", content, (form) => (schema ? patch({ form: readSchema(schema, form) }) : Promise.resolve()));
    },
    () => attachments(),
    () => {
      const offered = procedure.result_delivery || Object.keys(DELIVERY);
      const current = dossier.delivery || {};
      const address = field({ label: "Địa chỉ nhận kết quả", name: "delivery.address", value: current.address || dossier.applicant?.address || "", required: true });
      address.hidden = current.method !== "post";
      const radios = h("fieldset", { "data-field": "delivery.method" }, h("legend", {}, "Hình thức nhận kết quả"),
        offered.map((m) => h("label", { style: "display:block;margin:6px 0" },
          h("input", { type: "radio", name: "delivery.method", value: m, checked: (current.method || offered[0]) === m, onchange: () => { address.hidden = m !== "post"; } }),
          DELIVERY[m] || m)),
        h("p", { class: "error", role: "alert", hidden: true }));
      const form = step(4, "Hình thức nhận kết quả", [radios, address], async (f) => {
        const v = values(f);
        const delivery = { method: v["delivery.method"] };
        if (delivery.method === "post") delivery.address = v["delivery.address"];
        if (!supplementing) await patch({ delivery });
        try {
          if (supplementing) await api("POST", `/api/dossiers/${id}/resubmit`);
          else await api("POST", `/api/dossiers/${id}/submit`);
        } catch (error) {
          if (error.code === "incomplete") {
            error.problem.missing = missingText(dossier, error.problem.missing);
          }
          throw error;
        }
        location.hash = `#/ho-so/${id}?gui=1`;
      }, supplementing ? "Gửi bổ sung" : "Gửi đi");
      if (supplementing) form.querySelectorAll("input").forEach((i) => { i.disabled = true; });
      return form;
    },
  ];

  function readPersonFrom(person) {
    const out = {};
    for (const [key] of PERSON) if (person && person[key]) out[key] = person[key];
    return out;
  }

  function attachments() {
    const docs = procedure.documents || [];
    const list = (code) => (dossier.attachments || []).filter((a) => a.document_code === code && a.kind !== "result");
    const rows = docs.map((d) => {
      const id2 = `file-${d.code}`;
      const bar = h("progress", { max: 100, value: 0, hidden: true, "aria-label": `Tiến độ tải lên ${d.name}` });
      const have = h("ul", { class: "uploaded" }, list(d.code).map((a) => h("li", {}, `${a.name} (${Math.ceil(a.size / 1024)} KB)`)));
      const input = h("input", { type: "file", id: id2, name: d.code, "aria-describedby": `${id2}-error`, accept: ".pdf,.jpg,.jpeg,.png,.doc,.docx" });
      const row = h("div", { class: "field card", "data-field": `document:${d.code}` },
        h("label", { for: id2 }, d.name, d.required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null),
        d.template ? h("p", { class: "hint" }, h("a", { href: d.template, download: "" }, "Tải mẫu đơn, tờ khai")) : null,
        input, bar, have, h("p", { class: "error", id: `${id2}-error`, role: "alert", hidden: true }));
      input.addEventListener("change", async () => {
        const file = input.files[0];
        if (!file) return;
        const error = row.querySelector(".error");
        error.hidden = true;
        bar.hidden = false;
        bar.value = 0;
        const data = new FormData();
        data.append("document_code", d.code);
        data.append("file", file);
        try {
          const saved = await upload(`/api/dossiers/${id}/attachments`, data, (p) => { bar.value = p; });
          bar.value = 100;
          dossier.attachments = [...(dossier.attachments || []), saved];
          have.append(h("li", {}, `${saved.name} (${Math.ceil(saved.size / 1024)} KB) — đã tải lên`));
          input.value = "";
        } catch (err) {
          bar.hidden = true;
          const problem = err.problem || {};
          const messages = Object.values(problem.errors || {}).flat();
          error.textContent = [problem.title, ...messages].filter(Boolean).join(" ");
          error.hidden = false;
          input.setAttribute("aria-invalid", "true");
        }
      });
      return row;
    });
    return step(3, "Thành phần hồ sơ", [h("p", { class: "hint" }, "Đính kèm tệp PDF, ảnh hoặc văn bản cho từng thành phần; thành phần có dấu * là bắt buộc."), rows], async () => {});
  }

  show(supplementing ? 3 : 0);
}
