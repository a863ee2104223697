// How the page reaches the server: a WebSocket first; long polling when a WebSocket cannot get
// through (a proxy that drops upgrades, a firewall), while retrying the WebSocket now and then;
// and reconnecting with a capped backoff whenever the server goes away (a restart).
// Other hosts of a ?hosts= page are WebSocket-only (no poll URL): the page's policy lets it fetch
// from its own origin only.

import { pageToken } from "./access.js";
import { COMPACT_PROTOCOL, CompactDecoder } from "./compact.js";

export const WEBSOCKET = "WebSocket";
export const LONG_POLLING = "long polling";

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 2500; // a restarted server is found again within this long
const REFUSED_BACKOFF_MAX_MS = 10000; // a host that never answered is retried less eagerly
const PROBE_EVERY_MS = 10000; // while polling, how often the WebSocket is tried again
const OPEN_TIMEOUT_MS = 5000; // a handshake still pending after this long is treated as blocked
const QUIET_OK_MS = 3000; // open this long without closing counts as working (slow intervals)
const POLL_TIMEOUT_S = 25; // under the usual 30-60 s idle cut-off of proxies

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The stream and poll URLs, relative to the page's own URL so the page also works under a path
 * prefix (e.g. behind jupyter-server-proxy at /user/NAME/iostat-widget/), carrying `token` when
 * one is given. The page passes the token its server asked for (access.js `tokenToSend`); left
 * out, it is the page's own ?token=.
 */
export function streamUrls(href, token = pageToken(href)) {
  const ws = new URL("iostat", href);
  ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
  const poll = new URL("poll", href);
  for (const url of [ws, poll]) {
    url.search = "";
    url.hash = "";
    if (token) url.searchParams.set("token", token);
  }
  return { ws: ws.href, poll: poll.href };
}

export class Connection {
  /**
   * `onMessages(list)` receives decoded messages (not yet validated); `lastSeq()` says which
   * sample to continue after; `onStatus({transport, state, fallback, refusal})` reports progress,
   * where state is "connecting", "live" or "reconnecting", fallback is true while polling because
   * the WebSocket failed, and refusal is {status, reason} while a poll is answered 401 or 403
   * (else null). Without `urls.poll` (WebSocket only), a host that has never been live
   * is "refused" when its handshake fails at once, or "unreachable" when it never answers.
   */
  constructor({ urls, lastSeq, onMessages, onStatus }) {
    this.urls = urls;
    this.lastSeq = lastSeq;
    this.onMessages = onMessages;
    this.onStatus = onStatus;
    this.transport = WEBSOCKET;
    this.state = "connecting";
    this.fallback = false;
    this.backoff = BACKOFF_MIN_MS;
    this.everLive = false;
    this.timedOut = false; // whether the last failed attempt got no answer at all
    this.refusal = null; // the last poll's 401 or 403 and the server's reason, until one works
  }

  start() {
    this.report({});
    this.run();
  }

  report(change) {
    Object.assign(this, change);
    const { transport, state, fallback, refusal } = this;
    this.onStatus({ transport, state, fallback, refusal });
  }

  async run() {
    for (;;) {
      const socket = await this.openSocket();
      if (socket) {
        await this.streamSocket(socket);
      } else if (this.urls.poll) {
        const upgraded = await this.pollUntilFailure();
        if (upgraded) await this.streamSocket(upgraded);
      }
      // Whatever ended (a socket closed, a poll failed), the server most likely went away.
      this.report({ state: this.failedState() });
      await sleep(this.backoff);
      const cap = this.state === "reconnecting" ? BACKOFF_MAX_MS : REFUSED_BACKOFF_MAX_MS;
      this.backoff = Math.min(this.backoff * 2, cap);
    }
  }

  /**
   * What a failed attempt means. Browsers hide why a handshake failed (a 403 for a foreign
   * origin, a 401 for a missing token and a closed port all look alike), so a WebSocket-only host
   * that never worked is "refused" when it failed at once, whatever the cause.
   */
  failedState() {
    if (this.urls.poll || this.everLive) return "reconnecting";
    return this.timedOut ? "unreachable" : "refused";
  }

  /**
   * Resolves to {ws, early} once a WebSocket works, or null. It offers the compact form
   * (compact.js) first; a browser fails a handshake whose answer chooses no subprotocol (an
   * older server), so an offer refused at once is tried again without it, for JSON.
   */
  async openSocket() {
    const socket = await this.attemptSocket([COMPACT_PROTOCOL]);
    return socket || this.timedOut ? socket : this.attemptSocket([]);
  }

  /**
   * Resolves to {ws, early} once a WebSocket offering `protocols` works, or null. Working means
   * a first message came, or it stayed open for a while: a proxy that accepts the handshake and
   * closes at once counts as a failure, like a refused connection.
   */
  attemptSocket(protocols) {
    return new Promise((resolve) => {
      let ws;
      try {
        ws = new WebSocket(this.urls.ws, protocols);
      } catch {
        this.timedOut = false;
        resolve(null);
        return;
      }
      const early = [];
      let done = false;
      const finish = (ok, timedOut = false) => {
        if (done) return;
        done = true;
        this.timedOut = timedOut;
        clearTimeout(timer);
        if (!ok) {
          ws.onopen = ws.onmessage = ws.onclose = null;
          ws.close();
        }
        resolve(ok ? { ws, early } : null);
      };
      let timer = setTimeout(() => finish(false, true), OPEN_TIMEOUT_MS);
      ws.onopen = () => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(true), QUIET_OK_MS);
      };
      ws.onmessage = (event) => {
        early.push(event.data); // kept until streamSocket takes over the handler
        finish(true);
      };
      ws.onclose = () => finish(false);
    });
  }

  /**
   * Feeds a working socket's messages to the page; resolves when it closes. They are JSON
   * objects, or the compact form when the server chose iostat.compact.v1 (its schema messages
   * carry no sample and are not passed on).
   */
  streamSocket({ ws, early }) {
    return new Promise((resolve) => {
      const compact = ws.protocol === COMPACT_PROTOCOL ? new CompactDecoder() : null;
      const receive = (data) => {
        let list;
        try {
          if (compact === null) {
            list = [JSON.parse(data)];
          } else {
            const sample = compact.decode(data);
            list = sample === null ? [] : [sample];
          }
        } catch {
          list = [null]; // counted as invalid by the window
        }
        this.backoff = BACKOFF_MIN_MS;
        if (list.length) this.onMessages(list);
      };
      this.everLive = true;
      this.report({ transport: WEBSOCKET, state: "live", fallback: false, refusal: null });
      for (const data of early.splice(0)) receive(data);
      ws.onmessage = (event) => receive(event.data);
      ws.onclose = () => resolve();
      // It may have closed while handed over from openSocket, whose close handler was in charge.
      if (ws.readyState === WebSocket.CLOSED) resolve();
    });
  }

  /**
   * Long polls until a request fails (resolves null) or a WebSocket probe succeeds (resolves the
   * socket). The first request asks for everything the server keeps: after a failure the server
   * may have restarted and numbered from 0, so continuing after our last number would wait forever.
   */
  async pollUntilFailure() {
    const abort = new AbortController();
    let upgraded = null;
    let probing = false;
    const probe = async () => {
      if (probing) return;
      probing = true;
      const socket = await this.openSocket();
      probing = false;
      if (socket && !abort.signal.aborted) {
        upgraded = socket;
        abort.abort();
      } else if (socket) {
        socket.ws.close(); // polling already ended; the main loop opens its own socket
      }
    };
    const timer = setInterval(probe, PROBE_EVERY_MS);
    let after = -1;
    let first = true;
    try {
      for (;;) {
        const url = new URL(this.urls.poll);
        url.searchParams.set("after", String(after));
        url.searchParams.set("timeout", String(POLL_TIMEOUT_S));
        let list = [];
        try {
          const response = await fetch(url, { signal: abort.signal, cache: "no-store" });
          if (response.status === 401 || response.status === 403) {
            // Said at once, before the next report: the page explains it (access.js).
            const reason = (await response.text()).trim().slice(0, 200);
            this.refusal = { status: response.status, reason };
            return upgraded;
          }
          if (response.status !== 200 && response.status !== 204) return upgraded;
          if (response.status === 200) list = await response.json();
        } catch {
          return upgraded; // aborted for a working WebSocket, or the server is unreachable
        }
        this.report({ transport: LONG_POLLING, state: "live", fallback: true, refusal: null });
        if (first) {
          // A server that was restarting may have refused the WebSocket a moment before it
          // answered this poll: try the WebSocket again now rather than in PROBE_EVERY_MS.
          first = false;
          probe();
        }
        if (Array.isArray(list) && list.length) {
          this.backoff = BACKOFF_MIN_MS;
          this.onMessages(list);
          after = this.lastSeq();
        } else {
          // Nothing new for a whole timeout: ask for everything once, in case the server
          // restarted between two requests and now numbers below our last sample.
          after = -1;
          await sleep(BACKOFF_MIN_MS);
        }
      }
    } finally {
      clearInterval(timer);
      abort.abort();
    }
  }
}
