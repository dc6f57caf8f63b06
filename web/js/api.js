// The one HTTP client of the web portal: JSON in and out, the session's tokens,
// problem details (RFC 9457) turned into ApiError with field errors.

const SESSION_KEY = "portal.session";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.code = problem.code || "";
    this.errors = problem.errors || {};
  }
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
  } catch {
    return null;
  }
}

function decodeClaims(token) {
  const part = token.split(".")[1] || "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(decodeURIComponent(escape(json)));
}

export function saveTokens(pair) {
  const claims = decodeClaims(pair.access_token);
  sessionStorage.setItem(
    SESSION_KEY,
    JSON.stringify({
      access_token: pair.access_token,
      refresh_token: pair.refresh_token,
      claims,
    }),
  );
  window.dispatchEvent(new Event("portal:session"));
}

export function logout() {
  sessionStorage.removeItem(SESSION_KEY);
  window.dispatchEvent(new Event("portal:session"));
}

/**
 * "Đăng xuất": the server revokes the session (its refresh token) first, then the
 * browser forgets the tokens. A failed call still logs out here; the refresh token
 * then simply expires.
 */
export async function signOut() {
  const s = session();
  if (s && s.refresh_token) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 5000);
    try {
      await fetch("/api/identity/logout", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "Accept-Language": "vi",
          Authorization: `Bearer ${s.access_token}`,
        },
        body: JSON.stringify({ refresh_token: s.refresh_token }),
        signal: abort.signal,
      });
    } catch {
      // offline or slow: forgetting the tokens below is all that is left to do
    } finally {
      clearTimeout(timer);
    }
  }
  logout();
}

export function hasRole(role) {
  const s = session();
  return Boolean(s && (s.claims.roles || []).includes(role));
}

async function refresh() {
  const s = session();
  if (!s || !s.refresh_token) return false;
  const answer = await fetch("/api/identity/tokens/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Accept-Language": "vi" },
    body: JSON.stringify({ refresh_token: s.refresh_token }),
  });
  if (!answer.ok) {
    logout();
    return false;
  }
  saveTokens(await answer.json());
  return true;
}

async function parse(answer) {
  const type = answer.headers.get("Content-Type") || "";
  if (type.includes("json")) return answer.json();
  return null;
}

/** Call the API; `body` is JSON unless it is FormData. Throws ApiError on refusal. */
export async function api(method, path, body, { retried = false } = {}) {
  const headers = { "Accept-Language": "vi", Accept: "application/json" };
  const s = session();
  if (s) headers.Authorization = `Bearer ${s.access_token}`;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const answer = await fetch(path, { method, headers, body: payload });
  if (answer.status === 401 && s && !retried && (await refresh())) {
    return api(method, path, body, { retried: true });
  }
  const data = await parse(answer);
  if (!answer.ok) throw new ApiError(answer.status, data || { title: answer.statusText });
  return data;
}

/** Upload with progress (fetch has no upload progress): XMLHttpRequest. */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Accept-Language", "vi");
    const s = session();
    if (s) xhr.setRequestHeader("Authorization", `Bearer ${s.access_token}`);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(Math.round((100 * e.loaded) / e.total));
    });
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = { title: xhr.statusText };
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data || {}));
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, { title: "Không kết nối được máy chủ." })),
    );
    xhr.send(form);
  });
}

/** Download a protected file (attachments need the bearer token). */
export async function download(path, name) {
  const s = session();
  const answer = await fetch(path, {
    headers: s ? { Authorization: `Bearer ${s.access_token}` } : {},
  });
  if (!answer.ok) throw new ApiError(answer.status, (await parse(answer)) || {});
  const url = URL.createObjectURL(await answer.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
