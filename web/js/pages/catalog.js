// Home, search results with filters, and a procedure's page with "Nộp hồ sơ".
import { api, ApiError, session } from "../api.js";
import { add, describe, field, h, money, notice } from "../dom.js";
import { DELIVERY, LEVEL, PROVINCE, SERVICE_LEVEL } from "../labels.js";

function searchForm(q = "") {
  const input = h("input", { id: "q", name: "q", type: "search", value: q, placeholder: "Ví dụ: khai sinh, kết hôn, hộ kinh doanh" });
  return h(
    "form",
    {
      role: "search",
      class: "search-row",
      onsubmit: (event) => {
        event.preventDefault();
        location.hash = `#/tim-kiem?q=${encodeURIComponent(input.value.trim())}`;
      },
    },
    h("label", { for: "q", class: "visually-hidden", style: "position:absolute;left:-9999px" }, "Từ khóa tìm kiếm thủ tục"),
    input,
    h("button", { type: "submit" }, "Tìm kiếm"),
  );
}

export async function home(view) {
  const events = await api("GET", "/api/catalog/life-events").catch(() => ({ items: [] }));
  const citizen = events.items.filter((e) => e.audience === "citizen");
  const business = events.items.filter((e) => e.audience !== "citizen");
  const list = (items) =>
    h("ul", { class: "life-events" }, items.map((e) => h("li", {}, h("a", { href: `#/tim-kiem?life_event=${e.code}` }, e.name))));
  add(view, 
    h("section", { class: "hero" }, h("h1", {}, "Tìm kiếm thủ tục hành chính, dịch vụ công"), searchForm()),
    h("section", {}, h("h2", {}, "Sự kiện của công dân"), list(citizen)),
    h("section", {}, h("h2", {}, "Sự kiện của doanh nghiệp"), list(business)),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Tra cứu hồ sơ"),
      h("p", {}, "Nhập mã hồ sơ để theo dõi tình trạng giải quyết, không cần đăng nhập. ", h("a", { href: "#/tra-cuu" }, "Tra cứu hồ sơ")),
    ),
  );
}

const FILTERS = ["q", "agency", "level", "online", "field", "life_event", "province", "page"];

export async function search(view, { params }) {
  const query = new URLSearchParams();
  for (const key of FILTERS) if (params.get(key)) query.set(key, params.get(key));
  query.set("per_page", "20");
  const [page, fields, events, agencies] = await Promise.all([
    api("GET", `/api/catalog/procedures?${query}`),
    api("GET", "/api/catalog/fields").catch(() => ({ items: [] })),
    api("GET", "/api/catalog/life-events").catch(() => ({ items: [] })),
    api("GET", "/api/catalog/agencies").catch(() => ({ items: [] })),
  ]);
  const filters = h(
    "form",
    {
      class: "card",
      "aria-label": "Bộ lọc",
      onsubmit: (event) => {
        event.preventDefault();
        const next = new URLSearchParams();
        for (const el of event.currentTarget.elements) if (el.name && el.value) next.set(el.name, el.value);
        location.hash = `#/tim-kiem?${next}`;
      },
    },
    field({ label: "Từ khóa", name: "q", type: "search", value: params.get("q") || "" }),
    h(
      "details",
      { class: "filters-box", open: window.innerWidth > 720 || FILTERS.slice(1, -1).some((k) => params.get(k)) },
      h("summary", {}, "Bộ lọc: cơ quan, cấp thực hiện, mức độ trực tuyến"),
      h(
      "div",
      { class: "filters" },
      field({ label: "Cấp thực hiện", name: "level", value: params.get("level") || "", options: [["", "Tất cả"], ...Object.entries(LEVEL)] }),
      field({ label: "Mức độ trực tuyến", name: "online", value: params.get("online") || "", options: [["", "Tất cả"], ...Object.entries(SERVICE_LEVEL)] }),
      field({ label: "Lĩnh vực", name: "field", value: params.get("field") || "", options: [["", "Tất cả"], ...fields.items.map((f) => [f.code, f.name])] }),
      field({ label: "Sự kiện", name: "life_event", value: params.get("life_event") || "", options: [["", "Tất cả"], ...events.items.map((f) => [f.code, f.name])] }),
      field({ label: "Tỉnh, thành phố", name: "province", value: params.get("province") || "", options: [["", "Tất cả"], ...Object.entries(PROVINCE)] }),
      field({
        label: "Cơ quan thực hiện",
        name: "agency",
        value: params.get("agency") || "",
        options: [["", "Tất cả"], ...agencies.items.map((a) => [a.code, a.name])],
      }),
      ),
    ),
    h("button", { type: "submit" }, "Lọc kết quả"),
  );
  const items = page.items.map((p) => {
    const q = p.province ? `?tinh=${p.province}` : "";
    return h(
      "li",
      { class: "card" },
      h("h3", {}, h("a", { href: `#/thu-tuc/${encodeURIComponent(p.code)}${q}` }, p.name)),
      h(
        "p",
        {},
        h("span", { class: `tag ${p.service_level === "full" ? "tag-full" : ""}` }, SERVICE_LEVEL[p.service_level] || p.service_level),
        h("span", { class: "tag" }, p.field ? p.field.name : ""),
        p.province ? h("span", { class: "tag" }, `Tỉnh ${PROVINCE[p.province] || p.province}`) : h("span", { class: "tag" }, "Trung ương"),
        h("span", { class: "muted" }, ` Mã thủ tục: ${p.code}`),
      ),
    );
  });
  const pageNo = Number(params.get("page") || 1);
  const more = new URLSearchParams(params);
  more.set("page", String(pageNo + 1));
  add(view, 
    h("h1", {}, "Dịch vụ công trực tuyến"),
    filters,
    h("p", { role: "status" }, `Tìm thấy ${page.total} thủ tục.`),
    h("ul", { class: "results" }, items),
    pageNo * page.per_page < page.total ? h("a", { class: "button secondary", href: `#/tim-kiem?${more}` }, "Trang sau") : null,
  );
}

let provincesPromise = null;

/** The federation registry (code -> portal), or {} where the gateway has none. */
export function provinces() {
  provincesPromise ??= api("GET", "/api/provinces")
    .then((data) => {
      const list = Array.isArray(data) ? data : data?.items || [];
      return Object.fromEntries(list.map((p) => [String(p.code), p]));
    })
    .catch(() => ({}));
  return provincesPromise;
}

/**
 * Going to a province's portal while logged in: the access token travels in the URL's
 * fragment, which browsers never send to a server, and the province's page takes it
 * out of the address at once (app.js). The province's services trust the national
 * identity's keys, so the citizen does not log in again.
 */
function handOver(event) {
  const s = session();
  if (!s) return;
  event.preventDefault();
  location.assign(`${event.currentTarget.getAttribute("href")}&phien=${encodeURIComponent(s.access_token)}`);
}

/** Where "Nộp hồ sơ" goes: this portal, or the province's portal through /go/. */
export async function filingLink(procedure, agency) {
  const target = `#/nop-ho-so/${encodeURIComponent(procedure.code)}?tinh=${procedure.province || ""}&co-quan=${encodeURIComponent(agency.code)}`;
  const registry = await provinces();
  const here = document.documentElement.dataset.province || "";
  if (procedure.province && procedure.province !== here && registry[procedure.province]) {
    return { href: `/go/${procedure.province}/${target}`, away: registry[procedure.province].name || PROVINCE[procedure.province] };
  }
  return { href: target, away: null };
}

export async function procedure(view, { args: [code], params }) {
  const province = params.get("tinh");
  let p;
  try {
    p = await api("GET", `/api/catalog/procedures/${encodeURIComponent(code)}${province ? `?province=${province}` : ""}`);
  } catch (error) {
    if (error instanceof ApiError && error.code === "procedure_ambiguous") {
      add(view, 
        h("h1", {}, "Chọn tỉnh, thành phố"),
        notice(describe(error.problem), "info"),
        h("ul", {}, error.problem.provinces.map((c) => h("li", {}, h("a", { href: `#/thu-tuc/${encodeURIComponent(code)}?tinh=${c}` }, `Tỉnh ${PROVINCE[c] || c}`)))),
      );
      return;
    }
    throw error;
  }
  const agencies = await Promise.all(
    p.agencies.map(async (a) => {
      const link = await filingLink(p, a);
      return h(
        "tr",
        {},
        h("td", { "data-label": "Cơ quan thực hiện" }, a.name),
        h("td", { "data-label": "Cấp" }, LEVEL[a.level] || a.level),
        h(
          "td",
          {},
          h("a", { class: "button", href: link.href, "aria-label": `Nộp hồ sơ tại ${a.name}`, onclick: link.away ? handOver : null }, "Nộp hồ sơ"),
          link.away ? h("p", { class: "hint" }, `Chuyển sang Cổng DVC tỉnh ${link.away}`) : null,
        ),
      );
    }),
  );
  const docs = p.documents.map((d) =>
    h(
      "tr",
      {},
      h("td", { "data-label": "Tên giấy tờ" }, d.name, d.required ? h("span", { class: "req" }, " *") : null),
      h("td", { "data-label": "Số lượng" }, `${d.copies} bản`),
      h("td", { "data-label": "Mẫu đơn, tờ khai" }, d.template ? h("a", { href: d.template, download: "" }, "Tải mẫu") : "—"),
    ),
  );
  add(view, 
    h("p", {}, h("a", { href: "#/tim-kiem" }, "← Dịch vụ công trực tuyến")),
    h("h1", {}, p.name),
    h(
      "dl",
      { class: "facts card" },
      h("dt", {}, "Mã thủ tục"), h("dd", {}, p.code),
      h("dt", {}, "Lĩnh vực"), h("dd", {}, p.field?.name || ""),
      h("dt", {}, "Mức độ"), h("dd", {}, SERVICE_LEVEL[p.service_level] || p.service_level),
      h("dt", {}, "Thời hạn giải quyết"), h("dd", {}, p.processing_days ? `${p.processing_days} ngày làm việc` : "Trong ngày"),
      h("dt", {}, "Phí, lệ phí"),
      h("dd", {}, p.fees.length ? h("ul", {}, p.fees.map((f) => h("li", {}, `${f.name}: ${money(f.amount)}${f.note ? ` (${f.note})` : ""}`))) : "Không thu phí"),
      h("dt", {}, "Hình thức nhận kết quả"), h("dd", {}, p.result_delivery.map((d) => DELIVERY[d] || d).join("; ")),
      h("dt", {}, "Căn cứ pháp lý"), h("dd", {}, p.legal_basis.join("; ")),
    ),
    p.description ? h("p", {}, p.description) : null,
    h("h2", {}, "Trình tự thực hiện"),
    h("ol", {}, p.steps.map((s) => h("li", {}, s))),
    h("h2", {}, "Thành phần hồ sơ"),
    h("table", { class: "stack" }, h("thead", {}, h("tr", {}, h("th", {}, "Tên giấy tờ"), h("th", {}, "Số lượng"), h("th", {}, "Mẫu đơn, tờ khai"))), h("tbody", {}, docs)),
    h("h2", {}, "Cơ quan thực hiện"),
    h("table", { class: "stack" }, h("thead", {}, h("tr", {}, h("th", {}, "Cơ quan"), h("th", {}, "Cấp"), h("th", {}, h("span", { class: "visually-hidden" }, "Thao tác")))), h("tbody", {}, agencies)),
  );
}
