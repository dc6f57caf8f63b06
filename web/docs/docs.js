// A small OpenAPI browser: no external assets (the portal may run offline).
"use strict";

const METHODS = ["get", "post", "put", "patch", "delete"];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  children.forEach((c) => node.append(c));
  return node;
}

function resolve(spec, schema) {
  if (schema && schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return { name, schema: (spec.components.schemas || {})[name] || {} };
  }
  return { name: null, schema: schema || {} };
}

function operation(spec, path, method, op) {
  const body = el("div", { class: "body" });
  if (op.description || op.summary) body.append(el("p", {}, op.description || op.summary));
  const params = op.parameters || [];
  if (params.length) {
    const table = el("table", {}, el("tr", {}, el("th", {}, "tham số"), el("th", {}, "ở"), el("th", {}, "kiểu")));
    params.forEach((p) => table.append(el("tr", {}, el("td", {}, p.name + (p.required ? " *" : "")),
      el("td", {}, p.in), el("td", {}, (p.schema && p.schema.type) || ""))));
    body.append(table);
  }
  const content = op.requestBody && op.requestBody.content;
  if (content) {
    Object.entries(content).forEach(([type, media]) => {
      const { name, schema } = resolve(spec, media.schema);
      body.append(el("p", {}, `Request ${type}` + (name ? ` (${name})` : "")));
      body.append(el("pre", {}, JSON.stringify(schema, null, 2)));
    });
  }
  Object.entries(op.responses || {}).forEach(([status, response]) => {
    body.append(el("p", {}, `${status}: ${response.description || ""}`));
  });
  const summary = el("summary", {}, el("span", { class: `method ${method}` }, method.toUpperCase()),
    path + (op.summary ? ` - ${op.summary}` : ""));
  const details = el("details", { "data-text": `${method} ${path} ${op.summary || ""}`.toLowerCase() }, summary, body);
  return details;
}

function render(spec) {
  const main = document.getElementById("operations");
  main.replaceChildren();
  const groups = {};
  Object.entries(spec.paths).sort().forEach(([path, item]) => {
    const service = path.split("/")[2] || "other";
    METHODS.filter((m) => item[m]).forEach((m) => {
      (groups[service] = groups[service] || []).push(operation(spec, path, m, item[m]));
    });
  });
  Object.entries(groups).forEach(([service, ops]) => {
    main.append(el("h2", {}, service));
    ops.forEach((op) => main.append(op));
  });
  if (spec["x-unavailable"]) {
    main.prepend(el("p", {}, "Không tải được: " + spec["x-unavailable"].join(", ")));
  }
}

document.getElementById("filter").addEventListener("input", (event) => {
  const text = event.target.value.toLowerCase();
  document.querySelectorAll("details").forEach((d) => {
    d.hidden = text !== "" && !d.dataset.text.includes(text);
  });
});

fetch("/api/openapi.json")
  .then((r) => r.json())
  .then(render)
  .catch((e) => { document.getElementById("operations").textContent = "Lỗi: " + e; });
