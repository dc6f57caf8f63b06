// The single-page portal: hash routes (#/...) to page modules, the header's user menu.
import { api, hasRole, saveTokens, session, signOut } from "./api.js";
import { h, notice } from "./dom.js";
import * as catalog from "./pages/catalog.js";
import * as auth from "./pages/auth.js";
import * as citizen from "./pages/citizen.js";
import * as filing from "./pages/filing.js";
import * as officer from "./pages/officer.js";
import * as outbox from "./pages/outbox.js";

// [pattern, page, title, needs]
const ROUTES = [
  [/^\/$/, catalog.home, "Trang chủ"],
  [/^\/tim-kiem$/, catalog.search, "Tìm kiếm thủ tục"],
  [/^\/thu-tuc\/([^/]+)$/, catalog.procedure, "Thủ tục hành chính"],
  [/^\/dang-ky$/, auth.register, "Đăng ký"],
  [/^\/dang-nhap$/, auth.login, "Đăng nhập"],
  [/^\/quen-mat-khau$/, auth.reset, "Quên mật khẩu"],
  [/^\/tra-cuu$/, citizen.lookup, "Tra cứu hồ sơ"],
  [/^\/ho-so-ca-nhan$/, citizen.folders, "Hồ sơ cá nhân", "citizen"],
  [/^\/nop-ho-so\/([^/]+)$/, filing.start, "Nộp hồ sơ", "citizen"],
  [/^\/ho-so\/([^/]+)\/sua$/, filing.wizard, "Nộp hồ sơ", "citizen"],
  [/^\/ho-so\/([^/]+)$/, citizen.dossier, "Chi tiết hồ sơ", "citizen"],
  [/^\/thong-bao$/, citizen.inbox, "Thông báo", "any"],
  [/^\/tai-khoan$/, citizen.account, "Tài khoản", "any"],
  [/^\/can-bo$/, officer.queue, "Hồ sơ cần xử lý", "officer"],
  [/^\/can-bo\/ho-so\/([^/]+)$/, officer.dossier, "Xử lý hồ sơ", "officer"],
  [/^\/hop-thu-thu-nghiem$/, outbox.page, "Hộp thư thử nghiệm"],
];

// Which portal this is (national or a province's), from the gateway.
let portalName = "Cổng Dịch vụ công";

async function showPortal() {
  const portal = await api("GET", "/api/portal").catch(() => null);
  if (!portal || !portal.name) return;
  portalName = portal.name;
  document.querySelector(".brand strong").textContent = portal.name;
  document.body.dataset.portalRole = portal.role;
  document.title = document.title.replace(/Cổng Dịch vụ công$/, portal.name);
}

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { path, params: new URLSearchParams(query) };
}

export function go(path) {
  location.hash = `#${path}`;
}

function renderUser() {
  const slot = document.getElementById("nav-user");
  slot.replaceChildren();
  const s = session();
  if (!s) {
    slot.append(h("a", { href: "#/dang-ky" }, "Đăng ký"), h("a", { href: "#/dang-nhap" }, "Đăng nhập"));
    return;
  }
  const links = [];
  if (hasRole("citizen")) links.push(h("a", { href: "#/ho-so-ca-nhan" }, "Hồ sơ cá nhân"));
  if (hasRole("officer")) links.push(h("a", { href: "#/can-bo" }, "Hồ sơ cần xử lý"));
  const inbox = h("a", { href: "#/thong-bao" }, "Thông báo");
  links.push(inbox);
  api("GET", "/api/notify/inbox?unread=true&per_page=1")
    .then((page) => {
      if (page.unread) {
        inbox.append(h("span", { class: "badge" }, String(page.unread)), h("span", { class: "visually-hidden" }, " chưa đọc"));
      }
    })
    .catch(() => {});
  links.push(h("a", { href: "#/tai-khoan" }, s.claims.name || "Tài khoản"));
  links.push(
    h("button", { type: "button", class: "linkish", id: "logout", onclick: async (event) => {
      event.currentTarget.disabled = true;
      const from = location.hash;
      await signOut();
      if (location.hash === from) go("/"); // unless the citizen has gone elsewhere meanwhile
    } }, "Đăng xuất"),
  );
  slot.append(...links);
}

let firstRender = true;
// Each navigation's number: a page that finishes loading after a newer navigation
// started is dropped instead of replacing the newer page.
let navigation = 0;

/** A session handed over by the national portal (catalog.js handOver), kept out of the address. */
function takeHandedOverSession() {
  const { path, params } = parseHash();
  const token = params.get("phien");
  if (!token) return false;
  params.delete("phien");
  const rest = params.toString();
  history.replaceState(null, "", `${location.pathname}${location.search}#${path}${rest ? `?${rest}` : ""}`);
  try {
    saveTokens({ access_token: token });
  } catch {
    // not a token: nothing to keep
  }
  return true;
}

async function route() {
  const current = ++navigation;
  const main = document.getElementById("main");
  takeHandedOverSession();
  const { path, params } = parseHash();
  for (const a of document.querySelectorAll(".nav a")) {
    if (a.getAttribute("href") === `#${path}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const nav = document.getElementById("main-nav");
  if (window.matchMedia("(max-width: 720px)").matches) {
    nav.dataset.open = "false";
    document.querySelector(".menu-toggle").setAttribute("aria-expanded", "false");
  }
  for (const [pattern, page, title, needs] of ROUTES) {
    const match = path.match(pattern);
    if (!match) continue;
    document.title = `${title} - ${portalName}`;
    if (needs && !session()) {
      sessionStorage.setItem("portal.after-login", location.hash);
      go("/dang-nhap");
      return;
    }
    if (needs && needs !== "any" && !hasRole(needs)) {
      main.replaceChildren(h("h1", {}, title), notice("Tài khoản của bạn không có quyền xem trang này.", "error"));
      return;
    }
    main.replaceChildren(h("p", { class: "muted", role: "status" }, "Đang tải…"));
    const view = h("div");
    try {
      await page(view, { params, args: match.slice(1).map(decodeURIComponent) });
    } catch (error) {
      view.replaceChildren(h("h1", {}, title), notice(error.message || "Đã có lỗi xảy ra.", "error"));
    }
    if (current !== navigation) return;
    main.replaceChildren(view);
    // After a navigation, move focus to the new content (not on the first load:
    // Tab must then reach the skip link first).
    if (!firstRender && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
    firstRender = false;
    window.scrollTo(0, 0);
    return;
  }
  main.replaceChildren(h("h1", {}, "Không tìm thấy trang"), h("p", {}, h("a", { href: "#/" }, "Về trang chủ")));
}

document.querySelector(".menu-toggle").addEventListener("click", (event) => {
  const nav = document.getElementById("main-nav");
  const open = nav.dataset.open !== "true";
  nav.dataset.open = String(open);
  event.currentTarget.setAttribute("aria-expanded", String(open));
});
document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("main").focus();
});
window.addEventListener("hashchange", route);
// the unread count follows what was read
window.addEventListener("portal:inbox", renderUser);
window.addEventListener("portal:session", renderUser);
renderUser();
showPortal();
route();
