// Small DOM helpers: element building, labelled fields, errors next to fields.

let uid = 0;

/** h("p", {class: "x"}, "text", child) -> element; on* attributes add listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/**
 * A labelled input with a hint and an error slot; `name` is the API field name
 * (dotted for nested fields), used to show the API's error next to it.
 */
export function field({ label, name, type = "text", required = false, value = "", hint, options, attrs = {} }) {
  const id = nextId(name.replace(/\W/g, "-"));
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const described = [hintId, errorId].filter(Boolean).join(" ");
  let control;
  if (options) {
    control = h(
      "select",
      { id, name, required, "aria-describedby": described, ...attrs },
      options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) }, text)),
    );
  } else if (type === "textarea") {
    control = h("textarea", { id, name, required, "aria-describedby": described, rows: 3, ...attrs });
    control.value = value ?? "";
  } else {
    control = h("input", { id, name, type, required, "aria-describedby": described, ...attrs });
    if (value !== undefined && value !== null) control.value = value;
  }
  return h(
    "div",
    { class: "field", "data-field": name },
    h("label", { for: id }, label, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    control,
    h("p", { class: "error", id: errorId, role: "alert", hidden: true }),
  );
}

/** A form's values by input name (checkboxes as booleans, files skipped). */
export function values(form) {
  const out = {};
  for (const el of form.querySelectorAll("input, select, textarea")) {
    if (!el.name || el.type === "file") continue;
    if (el.type === "checkbox") out[el.name] = el.checked;
    else if (el.type === "radio") {
      if (el.checked) out[el.name] = el.value;
    } else out[el.name] = el.value.trim();
  }
  return out;
}

export function clearErrors(root) {
  for (const el of root.querySelectorAll(".error")) {
    el.hidden = true;
    el.textContent = "";
  }
  for (const el of root.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  const banner = root.querySelector(".form-error");
  if (banner) {
    banner.hidden = true;
    banner.textContent = "";
  }
}

/** Flatten {a: {b: ["m"]}} into [["a.b", "m"]]. */
function flatten(errors, prefix = "") {
  const out = [];
  for (const [key, value] of Object.entries(errors || {})) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (Array.isArray(value)) {
      for (const item of value) {
        if (typeof item === "string") out.push([name, item]);
        else out.push(...flatten(item, name));
      }
    } else if (value && typeof value === "object") out.push(...flatten(value, name));
    else out.push([name, String(value)]);
  }
  return out;
}

// The API's messages are Vietnamese where a citizen reads them; the validation
// library's defaults are English: translate the common ones.
const ENGLISH = [
  [/missing data for required field/i, "Trường này là bắt buộc."],
  [/not a valid email/i, "Địa chỉ thư điện tử không hợp lệ."],
  [/not a valid date/i, "Ngày không hợp lệ."],
  [/not a valid integer|not a valid number/i, "Cần nhập một số."],
  [/must be one of/i, "Giá trị không nằm trong danh sách cho phép."],
  [/shorter than minimum length|length must be between/i, "Độ dài không hợp lệ."],
  [/longer than maximum length/i, "Quá dài."],
  [/does not match expected pattern|string does not match/i, "Không đúng định dạng."],
  [/is a required property/i, "Trường này là bắt buộc."],
  [/unknown field/i, "Trường không được hỗ trợ."],
];

export function vietnamese(message) {
  if (/[^\x00-\x7f]/.test(message)) return message;
  for (const [pattern, text] of ENGLISH) if (pattern.test(message)) return text;
  return "Giá trị không hợp lệ.";
}

/**
 * Show an ApiError in `root`: each field error next to its field, the rest (and
 * the title) in the form's banner. Returns true if at least one field was marked.
 */
export function showError(root, error, fallbackField) {
  clearErrors(root);
  const problem = error.problem || { title: error.message };
  let marked = false;
  const loose = [];
  for (const [name, message] of flatten(problem.errors)) {
    let slot = root.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (!slot && fallbackField && name === "_schema") slot = root.querySelector(`[data-field="${fallbackField}"]`);
    if (!slot) {
      // a nested name may belong to the nearest rendered parent
      const parts = name.split(".");
      while (!slot && parts.length > 1) {
        parts.pop();
        slot = root.querySelector(`[data-field="${CSS.escape(parts.join("."))}"]`);
      }
    }
    if (slot) {
      const out = slot.querySelector(".error");
      const text = vietnamese(message);
      if (!out.textContent.includes(text)) out.textContent = out.textContent ? `${out.textContent} ${text}` : text;
      out.hidden = false;
      const control = slot.querySelector("input, select, textarea");
      if (control) control.setAttribute("aria-invalid", "true");
      if (!marked && control) control.focus();
      marked = true;
    } else if (!loose.includes(vietnamese(message))) loose.push(vietnamese(message));
  }
  let banner = root.querySelector(".form-error");
  if (!banner) {
    banner = h("div", { class: "form-error", role: "alert" });
    root.prepend(banner);
  }
  const text = [describe(problem), ...loose].filter(Boolean).join(" ");
  banner.textContent = text;
  banner.hidden = !text;
  return marked;
}

/** A problem's sentence for a person: title plus what to do and when. */
export function describe(problem) {
  const parts = [problem.title || "Đã có lỗi xảy ra."];
  if (problem.detail && /[^\x00-\x7f]/.test(problem.detail)) parts.push(problem.detail);
  if (problem.attempts_left !== undefined) parts.push(`Còn ${problem.attempts_left} lần thử.`);
  if (problem.retry_after) parts.push(`Vui lòng thử lại sau ${duration(problem.retry_after)}.`);
  if (problem.missing && Array.isArray(problem.missing)) {
    parts.push(`Còn thiếu: ${problem.missing.map((m) => m.name || m.code || m).join("; ")}.`);
  }
  return parts.join(" ");
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} giây`;
  const m = Math.floor(s / 60);
  const rest = s % 60;
  return rest ? `${m} phút ${rest} giây` : `${m} phút`;
}

// Dates are shown in Vietnam's time, whatever the device's zone (due dates end at
// the close of an office day there).
const VN_TIME = new Intl.DateTimeFormat("vi-VN", {
  timeZone: "Asia/Ho_Chi_Minh",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

export function formatDate(value, withTime = true) {
  if (!value) return "";
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const [y, m, d] = value.split("-");
    return `${d}/${m}/${y}`;
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  const part = Object.fromEntries(VN_TIME.formatToParts(date).map((p) => [p.type, p.value]));
  const day = `${part.day}/${part.month}/${part.year}`;
  return withTime ? `${part.hour}:${part.minute} ${day}` : day;
}

export function money(amount) {
  if (!amount) return "Không thu phí";
  return `${Number(amount).toLocaleString("vi-VN")} đồng`;
}

/** A busy state for a submit button during an async call. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

export function notice(text, kind = "info") {
  return h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** Append children to a parent, skipping null/false (DOM append would print them). */
export function add(parent, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child);
  }
  return parent;
}
