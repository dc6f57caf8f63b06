// A declaration form (tờ khai) rendered from the procedure's JSON Schema, and read back.
import { field, h } from "./dom.js";

const ENUM_LABELS = { male: "Nam", female: "Nữ", true: "Có", false: "Không" };
// Titles for parts the demo schemas share without a title of their own.
export const PART_TITLES = {
  mother: "Thông tin người mẹ",
  father: "Thông tin người cha",
  husband: "Thông tin bên chồng",
  wife: "Thông tin bên vợ",
  deceased: "Thông tin người chết",
  owner: "Thông tin chủ hộ, chủ sở hữu",
  subject: "Thông tin người được cấp",
};

function get(data, path) {
  return path.reduce((node, key) => (node && typeof node === "object" ? node[key] : undefined), data);
}

/** Render `schema` with `data`; input names are "form.<path>" like the API's error keys. */
export function renderSchema(schema, data = {}, path = [], required = false) {
  const name = ["form", ...path].join(".");
  const key = path[path.length - 1] || "";
  const title = schema.title || PART_TITLES[key] || key;
  if (schema.type === "object" && schema.properties) {
    const needed = new Set(schema.required || []);
    const children = Object.entries(schema.properties).map(([key, sub]) =>
      renderSchema(sub, data, [...path, key], needed.has(key)),
    );
    if (!path.length) return h("div", { class: "schema-form", "data-field": "form" }, children, h("p", { class: "error", hidden: true }));
    return h(
      "fieldset",
      { "data-field": name },
      h("legend", {}, title, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null),
      children,
      h("p", { class: "error", role: "alert", hidden: true }),
    );
  }
  let value = get(data, path);
  if (value === undefined) value = schema.default ?? "";
  const attrs = { "data-type": schema.type || "string" };
  if (schema.maxLength) attrs.maxlength = schema.maxLength;
  if (schema.enum) {
    return field({
      label: title,
      name,
      required,
      value,
      attrs,
      options: [["", "Chọn"], ...schema.enum.map((v) => [v, ENUM_LABELS[v] || v[0].toUpperCase() + v.slice(1)])],
    });
  }
  if (schema.type === "boolean") {
    const box = field({ label: title, name, type: "checkbox", required, attrs });
    box.querySelector("input").checked = Boolean(value);
    return box;
  }
  let type = "text";
  if (schema.type === "integer" || schema.type === "number") {
    type = "number";
    if (schema.minimum !== undefined) attrs.min = schema.minimum;
    if (schema.maximum !== undefined) attrs.max = schema.maximum;
  } else if (schema.format === "date") type = "date";
  else if (schema.format === "email") type = "email";
  const hint = schema.pattern === "^[0-9]{12}$" ? "12 chữ số" : schema.description;
  return field({ label: title, name, type, required, value, hint, attrs });
}

/** The declaration's values: empty optional parts left out, numbers as numbers. */
export function readSchema(schema, root) {
  return collect(schema, root, [], true).value;
}

// {value, touched}: an optional object whose fields all keep their defaults is left out.
function collect(schema, root, path, required) {
  if (schema.type === "object" && schema.properties) {
    const out = {};
    let touched = false;
    for (const [key, sub] of Object.entries(schema.properties)) {
      const needed = (schema.required || []).includes(key);
      const part = collect(sub, root, [...path, key], needed);
      if (part.value !== undefined) out[key] = part.value;
      touched ||= part.touched;
    }
    return { value: touched || required ? out : undefined, touched };
  }
  const el = root.querySelector(`[name="${CSS.escape(["form", ...path].join("."))}"]`);
  if (!el) return { value: undefined, touched: false };
  if (el.type === "checkbox") return { value: el.checked, touched: el.checked !== Boolean(schema.default) };
  const raw = el.value.trim();
  if (raw === "") return { value: undefined, touched: false };
  const touched = raw !== String(schema.default ?? "");
  if (schema.type === "integer") return { value: Number.parseInt(raw, 10), touched };
  if (schema.type === "number") return { value: Number(raw), touched };
  return { value: raw, touched };
}

/** "Trích xuất biểu mẫu": the filled declaration as a printable HTML file. */
export function exportDeclaration(schema, data, fileName = "to-khai.html") {
  const esc = (t) => String(t).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const rows = [];
  const walk = (part, node) => {
    for (const [key, sub] of Object.entries(part.properties || {})) {
      const title = sub.title || PART_TITLES[key] || key;
      const value = node ? node[key] : undefined;
      if (sub.type === "object") {
        rows.push(`<tr><th colspan="2">${esc(title)}</th></tr>`);
        walk(sub, value || {});
      } else {
        rows.push(`<tr><td>${esc(title)}</td><td>${esc(value === undefined ? "" : ENUM_LABELS[value] || value)}</td></tr>`);
      }
    }
  };
  walk(schema, data);
  const html = `<!doctype html><html lang="vi"><meta charset="utf-8"><title>${esc(schema.title || "Tờ khai")}</title>
<style>body{font-family:serif;max-width:760px;margin:2em auto}td,th{border:1px solid #999;padding:4px 8px;text-align:left}table{border-collapse:collapse;width:100%}</style>
<p style="text-align:center"><b>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</b><br><b>Độc lập - Tự do - Hạnh phúc</b></p>
<h1 style="text-align:center">${esc((schema.title || "Tờ khai").toUpperCase())}</h1><table>${rows.join("")}</table></html>`;
  const url = URL.createObjectURL(new Blob([html], { type: "text/html;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
