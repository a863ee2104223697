// The page: wires the connection to the sample window and paints the status, tiles, chart and
// table. Every value from the server reaches the page through textContent or an attribute set on
// an element built here, never through HTML parsing, so a hostile host name stays plain text.
// With ?hosts= the page shows several machines instead (hosts-view.js).
//
// First the page reads its server's /healthz: whether that server wants the page's ?token=
// (access.js), and whether it is there at all. When the stream is refused or missing, a note says
// why and what to do.

import {
  explain,
  originRefused,
  pageToken,
  partsText,
  readHealth,
  tokenToSend,
} from "./access.js";
import { CpuChart } from "./chart.js";
import { Connection, WEBSOCKET, streamUrls } from "./connection.js";
import { byId, cell, element } from "./dom.js";
import { GpuPanel } from "./gpu-view.js";
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
let gpus = null;
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
  const runs = samples.runs();
  chart.update(runs);
  gpus.update(runs);
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

let problemKind = null; // what #problem explains now (access.js `explain`), or null
const diagnosis = { key: null, generation: 0 };

/** Shows why the stream is refused or missing (`kind` as in access.js `explain`), or nothing. */
function showProblem(kind, sentToken) {
  problemKind = kind;
  const parts = explain(kind, {
    origin: location.origin,
    host: location.host,
    hasToken: pageToken(location.href) !== null,
    sentToken,
  });
  const node = byId("problem");
  const nodes = (parts ?? []).map((p) => (typeof p === "string" ? p : element("code", "", p.code)));
  if (node.textContent !== partsText(parts)) node.replaceChildren(...nodes);
  node.hidden = parts === null;
  node.dataset.kind = kind ?? "";
  // The general long-polling note says less than a refusal for this page's origin does.
  if (kind === "origin-ws") byId("note").hidden = true;
}

/**
 * Works out why the stream is not live over a WebSocket, once per kind of status (the connection
 * reports the same status again at every retry); a later status overrides a pending answer.
 */
async function diagnose(status, sentToken) {
  const live = status.state === "live";
  const key = live
    ? `live ${status.transport}`
    : `${status.state} ${status.refusal?.status ?? ""}`;
  if (key === diagnosis.key) return;
  diagnosis.key = key;
  const generation = ++diagnosis.generation;
  let kind = null;
  if (status.refusal) {
    kind = status.refusal.status === 401 ? "token" : "origin";
  } else if (live && status.fallback) {
    // A same-origin fetch carries no Origin, so polling may work where the WebSocket is refused.
    kind = (await originRefused(location.href)) ? "origin-ws" : null;
  } else if (status.state === "reconnecting") {
    if ((await readHealth(location.href)) === null) kind = "down";
    else if (await originRefused(location.href)) kind = "origin";
  }
  if (generation === diagnosis.generation) showProblem(kind, sentToken);
}

function statusHandler(sentToken) {
  return (status) => {
    const { transport, state, fallback, refusal } = status;
    const shown = refusal !== null && state !== "live" ? "refused" : state;
    setText("transport", transport);
    setText("state", shown);
    byId("state").dataset.state = shown;
    byId("transport").dataset.transport = transport === WEBSOCKET ? "websocket" : "polling";
    byId("note").hidden = !fallback || problemKind === "origin-ws";
    diagnose(status, sentToken);
  };
}

function showOneHost(token) {
  chart = new CpuChart(byId("chart"), WINDOW_SIZE);
  const gpuBoxes = ["gpu-card", "gpu-legend", "gpu-util", "gpu-mem"].map(byId);
  gpus = new GpuPanel(...gpuBoxes, WINDOW_SIZE);
  const urls = streamUrls(location.href, token);
  const connection = new Connection({
    urls,
    lastSeq: () => samples.lastSeq,
    onMessages,
    onStatus: statusHandler(token !== null),
  });
  connection.start();
  setInterval(paintAge, 250);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The server's /healthz, asked again (up to every 2.5 s) until something answers. */
async function firstHealth() {
  for (let wait = 250; ; wait = Math.min(wait * 2, 2500)) {
    const health = await readHealth(location.href);
    if (health !== null) {
      if (problemKind === "down") showProblem(null, false);
      return health;
    }
    showProblem("down", false);
    await sleep(wait);
  }
}

const token = tokenToSend(location.href, await firstHealth());
const plan = parseHosts(location.href, token);
if (plan === null) showOneHost(token);
else showHosts(plan);
