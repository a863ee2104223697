// The page: wires the connection to the sample window and paints the status, tiles, chart and
// table. Every value from the server reaches the page through textContent or an attribute set on
// an element built here, never through HTML parsing, so a hostile host name stays plain text.
// With ?hosts= the page shows several machines instead (hosts-view.js).

import { CpuChart } from "./chart.js";
import { Connection, WEBSOCKET, streamUrls } from "./connection.js";
import { byId, cell } from "./dom.js";
import { parseHosts } from "./hosts.js";
import { showHosts } from "./hosts-view.js";
import {
  SampleWindow,
  WINDOW_SIZE,
  formatAge,
  formatPercent,
  formatRate,
  formatTime,
} from "./samples.js";

const TABLE_ROWS = 10;

const samples = new SampleWindow(WINDOW_SIZE);
const rows = byId("rows");
let chart = null;
let painted = true;
let lastPaint = -Infinity; // performance.now() of the last paint
const FRAME_MS = 16;

function setText(id, text) {
  const node = byId(id);
  if (node.textContent !== text) node.textContent = text;
}

function paintTable() {
  const trs = samples.latest(TABLE_ROWS).map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.seq = String(s.seq);
    const time = cell(formatTime(s.date), "time");
    time.title = s.date;
    tr.append(
      time,
      cell(formatPercent(s.cpu.us), "num us"),
      cell(formatPercent(s.cpu.sy), "num sy"),
      cell(formatPercent(s.cpu.id), "num"),
      cell(formatPercent(s.cpu.us + s.cpu.sy), "num total"),
    );
    return tr;
  });
  rows.replaceChildren(...trs);
}

function paintTiles(newest) {
  setText("cpu-total", formatPercent(newest.cpu.us + newest.cpu.sy));
  setText("cpu-split", `us ${formatPercent(newest.cpu.us)} · sy ${formatPercent(newest.cpu.sy)}`);
  setText("disk-read", formatRate(newest.disk.read_bps));
  setText("disk-write", `write ${formatRate(newest.disk.write_bps)}`);
  setText("net-rx", formatRate(newest.net.rx_bps));
  setText("net-tx", `sent ${formatRate(newest.net.tx_bps)}`);
  setText("mem-used", formatPercent(newest.mem.used_pct));
  setText("interval", `sampled every ${newest.interval} s`);
}

function paintAge() {
  const newest = samples.newest;
  const age = newest ? Date.now() / 1000 - newest.t : null;
  setText("age", newest ? `${formatAge(age)} ago` : "–");
  // Stale after a few missed intervals: the numbers on screen are no longer current.
  byId("age").classList.toggle("stale", newest !== null && age > 3 * newest.interval + 1);
}

function paint() {
  painted = true;
  lastPaint = performance.now();
  const newest = samples.newest;
  if (newest === null) return;
  // Say whose numbers these are: inside a limited container they are the container's.
  const scope = newest.scope === "container" ? " · container" : "";
  setText("host", (newest.host || "(unnamed host)") + scope);
  document.title = `iostat · ${newest.host}`;
  setText("received", String(samples.received));
  paintTiles(newest);
  paintTable();
  chart.update(samples.runs());
  paintAge();
}

function onMessages(list) {
  if (samples.addAll(list) === 0 || !painted) return;
  if (performance.now() - lastPaint >= FRAME_MS) {
    // A lone sample (the usual case, once an interval) goes into the DOM now, so the very next
    // frame shows it: waiting for an animation frame would add up to a frame of latency.
    paint();
  } else {
    // A burst (a reconnect delivers up to a minute of history): paint once per frame, not per
    // message. Hidden tabs get no frames and catch up when shown.
    painted = false;
    requestAnimationFrame(paint);
  }
}

function onStatus({ transport, state, fallback }) {
  setText("transport", transport);
  setText("state", state);
  byId("state").dataset.state = state;
  byId("transport").dataset.transport = transport === WEBSOCKET ? "websocket" : "polling";
  byId("note").hidden = !fallback;
}

function showOneHost() {
  chart = new CpuChart(byId("chart"), WINDOW_SIZE);
  const connection = new Connection({
    urls: streamUrls(location.href),
    lastSeq: () => samples.lastSeq,
    onMessages,
    onStatus,
  });
  connection.start();
  setInterval(paintAge, 250);
}

const plan = parseHosts(location.href);
if (plan === null) showOneHost();
else showHosts(plan);
