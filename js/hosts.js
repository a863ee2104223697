// Which machines the page shows: its own server, plus those listed in ?hosts=. Pure URL work, no
// DOM and no network, so the rules about what is accepted can be checked on their own.
//
// The list comes from whoever wrote the link, so it is validated strictly: an entry is either
// host:port or a ws:// / wss:// URL ending in /iostat, and every stream URL is rebuilt by `new URL`
// from the parts that passed, never pasted together from the raw text.

import { pageToken } from "./access.js";
import { streamUrls } from "./connection.js";

/** At most this many entries of ?hosts= are shown (besides the page's own server). */
export const MAX_HOSTS = 16;

const MAX_LISTED_IGNORED = 8; // the rest of a long junk list is only counted
const MAX_SHOWN_CHARS = 60; // an ignored entry is quoted up to this long
const MAX_ENTRY_CHARS = 2048;

// A DNS name or IPv4 address (letters, digits, dots, hyphens), or an IPv6 address in brackets.
const HOST_PORT = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?):([0-9]{1,5})$/i;
const WS_URL = /^wss?:\/\//i;

/** Thrown while reading one entry; the message is the reason shown beside "ignored:". */
class Ignored extends Error {}

const shorten = (text) =>
  text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS)}…` : text;

/** Identity of a stream regardless of its token: the same server listed twice is shown once. */
const streamKey = (url) => `${url.protocol}//${url.host}${url.pathname}`;

function checkPort(text) {
  // Digits only, no leading zero: "08080" or "+80" would be parsed leniently elsewhere.
  const port = /^[1-9][0-9]{0,4}$/.test(text) ? Number(text) : 0;
  if (port < 1 || port > 65535) throw new Ignored("port must be from 1 to 65535");
}

/** `host:port`, as a stream URL with the page's security (wss: for an https: page). */
function fromHostPort(entry, page) {
  const match = HOST_PORT.exec(entry);
  if (!match) throw new Ignored("not host:port or a ws:// URL");
  checkPort(match[2]);
  const scheme = page.protocol === "https:" ? "wss:" : "ws:";
  try {
    return new URL(`${scheme}//${match[1]}:${match[2]}/iostat`);
  } catch {
    throw new Ignored("not a valid host name or address"); // e.g. 1.2.3.999 or [1::2::3]
  }
}

/** A ws:// or wss:// URL; only its address, path and token are kept. */
function fromUrl(entry, page) {
  let given;
  try {
    given = new URL(entry);
  } catch {
    throw new Ignored("not a valid URL");
  }
  if (given.username || given.password) throw new Ignored("no user:password in the URL");
  if (!given.hostname) throw new Ignored("no host in the URL");
  if (given.port) checkPort(given.port);
  // Browsers refuse ws:// from an https: page (mixed content): say so now, not as "refused".
  if (given.protocol === "ws:" && page.protocol === "https:") {
    throw new Ignored("an https page can only use wss://");
  }
  const path = given.pathname === "/" ? "/iostat" : given.pathname;
  if (!path.endsWith("/iostat")) throw new Ignored("the path must end in /iostat");
  const url = new URL(`${given.protocol}//${given.host}`);
  url.pathname = path;
  const token = given.searchParams.get("token");
  if (token) url.searchParams.set("token", token);
  return url;
}

/**
 * One accepted host. Long polling is only possible on the page's own origin (the page's policy
 * allows fetch there and nowhere else), so other hosts are WebSocket-only: poll is null.
 */
function hostEntry(ws, page) {
  let poll = null;
  const secure = ws.protocol === "wss:";
  if (ws.host === page.host && secure === (page.protocol === "https:")) {
    const url = new URL(ws.href);
    url.protocol = page.protocol;
    url.pathname = url.pathname.replace(/iostat$/, "poll");
    poll = url.href;
  }
  // The label never shows a token: it is the address, and the path when it is not the usual one.
  const path = ws.pathname === "/iostat" ? "" : ws.pathname.replace(/\/iostat$/, "");
  return { label: `${ws.host}${path}`, address: streamKey(ws), urls: { ws: ws.href, poll } };
}

/**
 * The hosts to show for the page at `href`, or null without ?hosts= (the one-host page).
 * Returns {hosts, ignored}: hosts[0] is always the page's own server, with `token` (the page passes
 * the one its server asked for; left out, the page's ?token=); no other host ever gets it, only a
 * token written inside its own entry. ignored lists each rejected entry as {entry, reason}, the
 * entry shortened for display.
 */
export function parseHosts(href, token = pageToken(href)) {
  const page = new URL(href);
  if (!page.searchParams.has("hosts")) return null;
  const own = streamUrls(href, token);
  const ownWs = new URL(own.ws);
  const hosts = [{ label: page.host, address: streamKey(ownWs), urls: own }];
  const seen = new Set([streamKey(ownWs)]);
  const ignored = [];
  let unlisted = 0;
  const ignore = (entry, reason) => {
    if (ignored.length < MAX_LISTED_IGNORED) ignored.push({ entry: shorten(entry), reason });
    else unlisted += 1;
  };

  for (const raw of page.searchParams.get("hosts").split(",")) {
    const entry = raw.trim();
    if (!entry) continue; // "a:1,,b:2" or a trailing comma
    try {
      if (entry.length > MAX_ENTRY_CHARS) throw new Ignored("too long");
      const ws = WS_URL.test(entry) ? fromUrl(entry, page) : fromHostPort(entry, page);
      const key = streamKey(ws);
      if (key === hosts[0].address) throw new Ignored("this page's own server, always shown");
      if (seen.has(key)) throw new Ignored("listed twice");
      if (hosts.length > MAX_HOSTS) throw new Ignored(`at most ${MAX_HOSTS} hosts`);
      seen.add(key);
      hosts.push(hostEntry(ws, page));
    } catch (error) {
      if (!(error instanceof Ignored)) throw error;
      ignore(entry, error.message);
    }
  }
  if (unlisted) ignored.push({ entry: `${unlisted} more`, reason: "not listed" });
  return { hosts, ignored };
}
