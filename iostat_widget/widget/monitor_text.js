/**
 * The monitor's text: its status lines, headline figures and table (the front end of
 * iostat_widget/widget/monitor_text.py; an anywidget module: plain ESM, no build step, nothing
 * fetched).
 *
 * The kernel sends facts: `feeds`, one object per host ({label, state, samples, invalid, errors,
 * error, age, interval}; age and interval in seconds, age = how old the newest sample was when the
 * kernel sent it, or null), and `beat`, a counter it bumps while it runs. This module keeps the
 * line true between messages, on the browser's monotonic clock (performance.now):
 *   - the age shown is age + (now - when that `feeds` arrived), repainted every 250 ms;
 *   - `live` reads `stale` once that age exceeds 3 intervals;
 *   - any state but `stopped` reads `no kernel` once no trait has changed for
 *     max(3 intervals, 3 s) + 2 s (the kernel sends something at least every max(interval, 1) s).
 * Labels and errors come from the network: they are written with textContent only.
 * `headline` (the newest figures) and `table` (recent samples) are HTML the kernel built and
 * escaped (table.py); they arrive in the same message as `feeds`. The element takes no box of its
 * own (display: contents, monitor_text.css): the lines and the headline are items of the monitor's
 * column where the widget sits, the table comes after the other items (order: 1), under the charts.
 */

export const TICK_MS = 250;
export const STALE_INTERVALS = 3;

/** Seconds without any message after which a feed's kernel counts as gone. */
export function silenceLimit(interval) {
  return Math.max(STALE_INTERVALS * interval, 3) + 2;
}

function isNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}

/** Seconds for people: "0.4 s", "12 s", "3 min 5 s", "2 h 1 min" (the page's rule). */
export function formatAge(seconds) {
  if (!isNumber(seconds)) return "–";
  const s = Math.max(seconds, 0);
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function count(n, one, many) {
  const value = isNumber(n) ? n : 0;
  return `${value} ${value === 1 ? one : many}`;
}

const TONES = { live: "ok", stopped: "muted", "no kernel": "muted" };

/**
 * What one feed's line says: {label, state, tone, details: [text], error: text}.
 * `sinceFeeds`: seconds since the `feeds` holding this feed arrived; `sinceContact`: seconds since
 * the last `feeds` or `beat` change. tone: ok | warn | muted (the state's colour).
 */
export function describe(feed, sinceFeeds, sinceContact) {
  const interval = isNumber(feed.interval) && feed.interval > 0 ? feed.interval : 1;
  const reported = typeof feed.state === "string" ? feed.state : "unknown";
  const stopped = reported === "stopped";
  const age = isNumber(feed.age) ? feed.age + Math.max(sinceFeeds, 0) : null;
  let state = reported;
  const details = [count(feed.samples, "sample", "samples")];
  if (!stopped) details.push(`age ${formatAge(age)}`);
  if (!stopped && sinceContact > silenceLimit(interval)) {
    state = "no kernel";
    details.push(`kernel not responding for ${formatAge(sinceContact)}`);
  } else if (state === "live" && age !== null && age > STALE_INTERVALS * interval) {
    state = "stale";
  }
  if (isNumber(feed.invalid) && feed.invalid > 0) details.push(`${feed.invalid} invalid skipped`);
  const errors = isNumber(feed.errors) && feed.errors > 0 ? feed.errors : 0;
  if (errors) details.push(count(errors, "update error", "update errors"));
  const text = typeof feed.error === "string" ? feed.error : "";
  return {
    label: typeof feed.label === "string" ? feed.label : String(feed.label ?? ""),
    state,
    tone: TONES[state] ?? "warn",
    details,
    error: text && (state !== "live" || errors) ? text : "",
  };
}

// Any message from the kernel: `feeds` (handled apart: it also restarts the age), the beat, or
// the headline and table (which come with news, and then without a beat).
const CONTACT = "change:beat change:headline change:table";

// When each model's messages arrived (browser clock, ms). Kept per model, not per view, so a view
// rendered later (a second display, a re-attached output) counts from the same moments.
const clocks = new WeakMap();

function track(model) {
  let clock = clocks.get(model);
  if (clock) return clock;
  const now = performance.now();
  clock = { feedsAt: now, contactAt: now };
  const onFeeds = () => {
    clock.feedsAt = clock.contactAt = performance.now();
  };
  const onBeat = () => {
    clock.contactAt = performance.now();
  };
  model.on("change:feeds", onFeeds);
  model.on(CONTACT, onBeat);
  clock.untrack = () => {
    model.off("change:feeds", onFeeds);
    model.off(CONTACT, onBeat);
    clocks.delete(model);
  };
  clocks.set(model, clock);
  return clock;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** `content` after a separator and a space; short parts stay whole ("· 12 samples"). */
function part(line, content, wraps = false) {
  const group = element("span", wraps ? "iostat-status-part wraps" : "iostat-status-part");
  group.append(element("span", "iostat-status-sep", "· "), content);
  line.append(" ", group);
}

/** One line's DOM, rebuilt only when its shape changes; otherwise only texts are touched. */
function paintLine(line, view) {
  const shape = `${view.details.length}/${view.error ? 1 : 0}`;
  if (line.dataset.shape !== shape) {
    line.replaceChildren(element("code", "iostat-status-label"));
    part(line, element("b", "iostat-status-state"));
    for (let i = 0; i < view.details.length; i++) part(line, element("span", "iostat-status-detail"));
    if (view.error) part(line, element("i", "iostat-status-error"), true);
    line.dataset.shape = shape;
  }
  const set = (node, text) => {
    if (node.textContent !== text) node.textContent = text;
  };
  set(line.querySelector(".iostat-status-label"), view.label);
  set(line.querySelector(".iostat-status-state"), view.state);
  line.querySelectorAll(".iostat-status-detail").forEach((node, i) => set(node, view.details[i]));
  if (view.error) set(line.querySelector(".iostat-status-error"), view.error);
  if (line.dataset.state !== view.state) line.dataset.state = view.state;
  if (line.dataset.tone !== view.tone) line.dataset.tone = view.tone;
}

export default {
  initialize({ model }) {
    const clock = track(model);
    return () => clock.untrack();
  },

  render({ model, el }) {
    const clock = track(model); // also where initialize is not called
    el.classList.add("iostat-monitor-text");
    const lines = element("div", "iostat-status-lines");
    const headline = element("div", "iostat-headline");
    const table = element("div", "iostat-table-part");
    el.replaceChildren(lines, headline, table);
    const paint = () => {
      const now = performance.now();
      const feeds = model.get("feeds") ?? [];
      while (lines.children.length > feeds.length) lines.lastChild.remove();
      while (lines.children.length < feeds.length) lines.append(element("div", "iostat-status-line"));
      feeds.forEach((feed, i) => {
        const view = describe(feed ?? {}, (now - clock.feedsAt) / 1000, (now - clock.contactAt) / 1000);
        paintLine(lines.children[i], view);
      });
    };
    const shown = new Map();
    const paintHtml = () => {
      for (const [name, node] of [["headline", headline], ["table", table]]) {
        const html = model.get(name) ?? "";
        if (html !== shown.get(name)) {
          node.innerHTML = html; // built and escaped by the kernel (see the module's doc)
          node.hidden = !html;
          shown.set(name, html);
        }
      }
    };
    model.on("change:feeds", paint);
    model.on("change:beat", paint);
    model.on("change:headline change:table", paintHtml);
    const timer = setInterval(paint, TICK_MS);
    paint();
    paintHtml();
    return () => {
      clearInterval(timer);
      model.off("change:feeds", paint);
      model.off("change:beat", paint);
      model.off("change:headline change:table", paintHtml);
    };
  },
};
