// Whom the page gives its ?token=, and why its own server refuses the stream, in words the person
// at the page can act on.
//
// A page's ?token= may not be this server's at all: opened from Jupyter's launcher, the page's URL
// carries Jupyter's own token, which grants the whole Jupyter server. So the page sends its token
// only to its own server, and only when that server's /healthz says it wants one
// (`token_required: true`). A /healthz without the field (not this project's current server) or
// one that is not JSON gets no token: failing to connect, with a message saying so, is better than
// handing someone else's token to a URL that proxies write to their logs.
//
// Browsers hide why a WebSocket handshake failed, so the page asks its server's /healthz (public),
// which tells "server down" from "server up", and, given the page's origin, whether the server
// lets a page of that origin have the data (`origin_allowed`, judged against the Host the server
// sees: behind a proxy that rewrites Host, it does not). A fetch of /poll also shows 401 or 403
// with the server's reason; a same-origin fetch carries no Origin header, though, so it may pass
// where the WebSocket, which always carries one, is refused.

const HEALTH_TIMEOUT_MS = 5000;

/** The ?token= of the page at `href`, or null. */
export function pageToken(href) {
  return new URL(href).searchParams.get("token");
}

/**
 * The health check's URL for the page at `href`: relative (a path prefix works), asking whether
 * the page's origin may use the data (`?origin=`); never the page's token.
 */
export function healthUrl(href) {
  const url = new URL("healthz", href);
  url.search = "";
  url.hash = "";
  url.searchParams.set("origin", new URL(href).origin);
  return url.href;
}

/**
 * The token to send to the page's own server: the page's ?token= when `health` (the server's
 * /healthz answer) says `token_required: true`, else null.
 */
export function tokenToSend(href, health) {
  const wanted = health !== null && typeof health === "object" && health.token_required === true;
  return wanted ? pageToken(href) : null;
}

/**
 * The server's /healthz as an object; `{}` when it answered something else (an error status, not
 * JSON); null when nothing answered within 5 s (the server or the network is down).
 */
export async function readHealth(href) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), HEALTH_TIMEOUT_MS);
  try {
    const response = await fetch(healthUrl(href), { cache: "no-store", signal: abort.signal });
    try {
      const body = await response.json();
      return response.ok && body !== null && typeof body === "object" ? body : {};
    } catch {
      return {};
    }
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether the page's own server refuses data to a page of this origin (the origin of `href`):
 * true or false as its /healthz judges it (against the Host it sees, as its data endpoints do),
 * null when the health check did not answer or does not judge origins (an older server).
 */
export async function originRefused(href) {
  const health = await readHealth(href);
  const allowed = health?.origin_allowed;
  return typeof allowed === "boolean" ? !allowed : null;
}

/** Something the page shows as code (a flag to add, a URL part). */
const code = (text) => ({ code: text });

/**
 * Why the stream is refused or missing, as parts (text, or {code}) for the page to show; null when
 * there is nothing to explain. `kind` is one of:
 *   "origin"      the stream and poll were refused for this page's origin (403);
 *   "origin-ws"   the WebSocket was refused for this page's origin, long polling works;
 *   "token"       the server refused the token, or its absence (401);
 *   "down"        nothing answered the health check.
 * `origin` is the page's origin (location.origin), `host` its host, `hasToken` whether the page's
 * URL has a ?token=, `sentToken` whether it was sent.
 */
export function explain(kind, { origin, host, hasToken, sentToken }) {
  const fix = [
    "Start it with ",
    code(`--allow-origin ${origin}`),
    ", or have the proxy pass the browser's Host header (nginx: ",
    code("proxy_set_header Host $host;"),
    ").",
  ];
  const why = " (a proxy in front of it gives this page another address than its own)";
  switch (kind) {
    case "origin":
      return ["This server refused the stream from origin ", code(origin), `${why}. `, ...fix];
    case "origin-ws":
      return [
        "Updating by long polling: this server refused the WebSocket from origin ",
        code(origin),
        `${why}. `,
        ...fix,
      ];
    case "token":
      if (!hasToken) {
        return [
          "This server wants a token: open this page with ",
          code("?token=…"),
          " as iostat-widget serve printed its URL.",
        ];
      }
      if (!sentToken) {
        return [
          "This server wants a token, but its ",
          code("healthz"),
          " does not say so, so this page kept the ",
          code("?token="),
          " of its address to itself: open the URL iostat-widget serve printed.",
        ];
      }
      return [
        "This server refused the ",
        code("?token="),
        " in this page's address: open the URL iostat-widget serve printed.",
      ];
    case "down":
      return [`No answer from ${host}: is iostat-widget serve running there?`];
    default:
      return null;
  }
}

/** The parts of `explain` as plain text (for a title, a log, a test). */
export const partsText = (parts) =>
  (parts ?? []).map((part) => (typeof part === "string" ? part : part.code)).join("");
