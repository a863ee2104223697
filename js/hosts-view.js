// The ?hosts= page: several machines in one view. Each host has its own connection and its own
// sample window, so a host that goes away, refuses, or sends odd data only changes its own row,
// line and status; the others keep updating. Values reach the page through textContent only.

import { HostsChart } from "./chart.js";
import { Connection, WEBSOCKET } from "./connection.js";
import { byId, cell, element, setText } from "./dom.js";
import {
  SampleWindow,
  WINDOW_SIZE,
  formatAge,
  formatPercent,
  formatRate,
  formatTime,
  isGap,
  nominalIntervals,
} from "./samples.js";

const TABLE_ROWS = 10;
const HUES = 8; // colours in style.css; the next eight hosts reuse them dashed, then dotted

/** The classes that mark host i everywhere it appears: line, legend, table and status. */
const styleOf = (i) => `hue-${i % HUES} dash-${Math.floor(i / HUES) % 3}`;

const STATE_TEXT = {
  connecting: "connecting",
  live: "live",
  reconnecting: "reconnecting",
  refused: "refused",
  unreachable: "no answer",
};

/** One machine: its connection, its recent samples and how its clock relates to the page's. */
class Host {
  constructor(entry, index, { onSamples, onStatus }) {
    this.entry = entry;
    this.index = index;
    this.style = styleOf(index);
    this.samples = new SampleWindow(WINDOW_SIZE);
    this.status = { transport: WEBSOCKET, state: "connecting", fallback: false };
    this.offset = null; // seconds to add to this host's times to put them on the page's clock
    this.connection = new Connection({
      urls: entry.urls,
      lastSeq: () => this.samples.lastSeq,
      onMessages: (list) => {
        if (this.receive(list)) onSamples(this);
      },
      onStatus: (status) => {
        this.status = status;
        onStatus(this);
      },
    });
  }

  /** The name the host reports, or its address until it has sent a sample. */
  get name() {
    return this.samples.newest?.host || this.entry.label;
  }

  /**
   * Adds a batch; true if any sample was new. Machines' clocks differ, and a host could send any
   * time at all, so each host's times are shifted onto the page's clock: the offset is the
   * smallest (page now - sample time) seen since the host's last gap, i.e. its clock difference
   * plus the network delay. A gap (a restart, a clock jump, a pause), judged against the nominal
   * interval of the host's window as the chart judges it, starts the estimate afresh.
   */
  receive(list) {
    const now = Date.now() / 1000;
    let added = false;
    for (const obj of list) {
      const previous = this.samples.newest;
      if (!this.samples.add(obj)) continue;
      added = true;
      const sample = this.samples.newest;
      const lag = now - sample.t;
      // The nominal interval of the newest run, worked out only when there is a pair to judge.
      const gap = () => isGap(previous, sample, nominalIntervals(this.samples.samples).at(-1));
      const fresh = this.offset === null || (previous !== null && gap());
      this.offset = fresh ? lag : Math.min(this.offset, lag);
    }
    return added;
  }

  /** Seconds since the newest sample was taken, on the page's clock; null without samples. */
  age(now) {
    const newest = this.samples.newest;
    return newest === null ? null : now - (newest.t + this.offset);
  }

  /** The runs of {t, pct} points (CPU busy) the chart draws, on the page's clock. */
  series() {
    return this.samples
      .runs()
      .map((run) => run.map((s) => ({ t: s.t + this.offset, pct: s.cpu.us + s.cpu.sy })));
  }
}

/** Why a host shows no data, in words the person at the page can act on; "" when all is well. */
function problemNote(host) {
  const { label, address } = host.entry;
  if (host.status.state === "refused") {
    // The browser does not say why (a 403 for this page's origin, a 401 for a token, or nothing
    // listening): name the likely fixes.
    return (
      `${label} refused the connection, or is not running. Start it with ` +
      `--allow-origin ${location.origin}; if it has a token, list it as ${address}?token=…`
    );
  }
  if (host.status.state === "unreachable") {
    return `No answer from ${label} within 5 s: check the address, and that the port is open.`;
  }
  return "";
}

/**
 * Builds the host's row of the status table, its note under the table and its legend entry,
 * keeping references to the parts that change.
 */
function buildStatus(host) {
  const tr = element("tr");
  tr.dataset.host = String(host.index);
  const name = element("span", "host-name", host.entry.label);
  const address = element("span", "address");
  const state = element("span", "state", STATE_TEXT.connecting);
  state.dataset.state = "connecting";
  const cells = {
    name: cell("", "name"),
    state: cell(""),
    received: cell("0", "num"),
    age: cell("–", "num"),
    busy: cell("–", "num"),
    disk: cell("–", "num"),
    net: cell("–", "num"),
    mem: cell("–", "num"),
  };
  cells.name.append(element("span", `swatch host ${host.style}`), name, address);
  cells.state.append(state);
  tr.append(...Object.values(cells));
  const note = element("li");
  note.dataset.host = String(host.index);
  note.hidden = true;
  const legend = element("li");
  legend.dataset.host = String(host.index);
  const legendName = element("span", "legend-name", host.entry.label);
  legend.append(element("span", `swatch host ${host.style}`), legendName);
  host.view = { tr, name, address, state, cells, note, legend, legendName };
}

function showIgnored(ignored) {
  const note = byId("ignored");
  if (!ignored.length) return;
  const parts = [element("strong", "", "ignored:")];
  ignored.forEach(({ entry, reason }, i) => {
    parts.push(i ? "; " : " ", element("code", "", entry), ` (${reason})`);
  });
  note.replaceChildren(...parts);
  note.hidden = false;
}

/** Shows `plan.hosts` (the page's own server first) and lists `plan.ignored` entries. */
export function showHosts(plan) {
  const count = plan.hosts.length;
  document.body.classList.add("many-hosts");
  document.title = `iostat · ${count} hosts`;
  setText(byId("host"), `${count} hosts`);
  setText(byId("chart-title"), "CPU busy (us + sy), last 60 samples");
  setText(byId("rows-hint"), "newest first, all hosts");
  byId("rows-head").prepend(element("th", "", "host"));
  byId("hosts-card").hidden = false;
  showIgnored(plan.ignored);

  let painted = true;
  const schedulePaint = () => {
    // Several hosts, and a reconnect's minute of history, arrive in bursts: paint once per
    // frame, not per message. Hidden tabs get no frames and catch up when shown.
    if (!painted) return;
    painted = false;
    requestAnimationFrame(() => {
      painted = true;
      paint(hosts, chart);
    });
  };
  const hosts = plan.hosts.map(
    (entry, i) => new Host(entry, i, { onSamples: schedulePaint, onStatus: paintStatus }),
  );
  const chart = new HostsChart(byId("chart"), WINDOW_SIZE, hosts.map((h) => h.style));
  hosts.forEach(buildStatus);
  byId("hosts").replaceChildren(...hosts.map((h) => h.view.tr));
  byId("host-notes").replaceChildren(...hosts.map((h) => h.view.note));
  byId("legend").replaceChildren(...hosts.map((h) => h.view.legend));

  for (const host of hosts) host.connection.start();
  setInterval(() => paintAges(hosts), 250);
}

function paint(hosts, chart) {
  for (const host of hosts) paintNumbers(host);
  paintRows(hosts);
  const reporting = hosts.filter((h) => h.samples.newest !== null);
  // The axis follows the fastest host, so its samples are not squeezed by a slow one.
  const intervals = reporting.map((h) => h.samples.newest.interval);
  chart.update(
    hosts.map((h) => h.series()),
    intervals.length ? Math.min(...intervals) : 1,
  );
  paintAges(hosts);
}

function paintStatus(host) {
  const { state, transport } = host.status;
  const polling = state === "live" && transport !== WEBSOCKET;
  setText(host.view.state, polling ? "live · long polling" : (STATE_TEXT[state] ?? state));
  host.view.state.dataset.state = state;
  host.view.tr.dataset.state = state;
  const note = problemNote(host);
  setText(host.view.note, note);
  host.view.note.hidden = note === "";
}

function paintNumbers(host) {
  const { cells } = host.view;
  const newest = host.samples.newest;
  setText(cells.received, String(host.samples.received));
  if (newest === null) return;
  // Two hosts can report the same name (cloned machines): the address tells them apart.
  setText(host.view.name, host.name);
  setText(host.view.address, host.name === host.entry.label ? "" : host.entry.label);
  setText(host.view.legendName, host.name);
  setText(cells.busy, `${formatPercent(newest.cpu.us + newest.cpu.sy)} %`);
  setText(cells.disk, formatRate(newest.disk.read_bps));
  setText(cells.net, formatRate(newest.net.rx_bps));
  setText(cells.mem, `${formatPercent(newest.mem.used_pct)} %`);
}

function paintRows(hosts) {
  // Newest first across hosts, each host's times put on the page's clock.
  const recent = hosts
    .flatMap((host) => host.samples.latest(TABLE_ROWS).map((s) => ({ host, s })))
    .sort((a, b) => b.s.t + b.host.offset - (a.s.t + a.host.offset))
    .slice(0, TABLE_ROWS);
  const trs = recent.map(({ host, s }) => {
    const tr = element("tr");
    tr.dataset.host = String(host.index);
    tr.dataset.seq = String(s.seq);
    const name = cell("", "name");
    const label = s.host || host.entry.label;
    name.append(element("span", `swatch host ${host.style}`), element("span", "host-name", label));
    const time = cell(formatTime(s.date), "time");
    time.title = s.date;
    tr.append(
      name,
      time,
      cell(formatPercent(s.cpu.us), "num us"),
      cell(formatPercent(s.cpu.sy), "num sy"),
      cell(formatPercent(s.cpu.id), "num"),
      cell(formatPercent(s.cpu.us + s.cpu.sy), "num total"),
    );
    return tr;
  });
  byId("rows").replaceChildren(...trs);
}

function paintAges(hosts) {
  const now = Date.now() / 1000;
  for (const host of hosts) {
    const age = host.age(now);
    const td = host.view.cells.age;
    setText(td, age === null ? "–" : `${formatAge(age)} ago`);
    // Stale after a few missed intervals: that host's numbers are no longer current.
    const newest = host.samples.newest;
    td.classList.toggle("stale", newest !== null && age > 3 * newest.interval + 1);
  }
}
