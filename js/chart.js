// The CPU charts, drawn as inline SVG built with DOM calls: one host's stacked user/system time,
// or one busy line per host. SVG rather than a library or a canvas: no dependency to vendor, crisp
// at any size, and the shapes stay inspectable.

import { formatClock } from "./samples.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 350;
const MARGIN = { left: 40, right: 10, top: 10, bottom: 24 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

function svg(name, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

const round = (value) => Math.round(value * 10) / 10;
const clampPct = (value) => Math.min(Math.max(value, 0), 100);

/** The frame both charts share: percent grid, time axis, and a note while there is no data. */
class TimeChart {
  /** Builds the empty chart inside `container`; `size` is how many samples span the x axis. */
  constructor(container, size, label) {
    this.size = size;
    this.root = svg("svg", {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      class: "chart-svg",
      role: "img",
      "aria-label": label,
    });
    const grid = svg("g", { class: "grid" }, this.root);
    for (const pct of [0, 25, 50, 75, 100]) {
      const y = this.y(pct);
      svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y, y2: y }, grid);
      const label = svg("text", { x: MARGIN.left - 6, y: y + 4, class: "y-label" }, grid);
      label.textContent = `${pct}%`;
    }
    this.plot = svg("g", { class: "plot" }, this.root);
    this.xAxis = svg("g", { class: "x-axis" }, this.root);
    this.empty = svg("text", { x: WIDTH / 2, y: HEIGHT / 2, class: "empty" }, this.root);
    this.empty.textContent = "waiting for samples…";
    container.replaceChildren(this.root);
  }

  y(pct) {
    return round(MARGIN.top + PLOT_H * (1 - clampPct(pct) / 100));
  }

  /**
   * The x scale for a window ending at `t1`: `span` seconds wide, so the chart scrolls at a
   * steady pace and a pause shows as empty space instead of stretching the rest. `halfStep` is
   * half an interval wide, to give a lone sample between two gaps some width.
   */
  scale(t1, span, interval) {
    const t0 = t1 - span;
    const x = (t) => round(MARGIN.left + (PLOT_W * (t - t0)) / span);
    const halfStep = Math.max((PLOT_W * interval) / span / 2, 1.5);
    return { t0, x, halfStep };
  }

  drawTimeAxis(t0, t1, x) {
    const span = t1 - t0;
    const step = TICK_STEPS.find((s) => span / s <= 6) ?? TICK_STEPS[TICK_STEPS.length - 1];
    const ticks = [];
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const xt = x(t);
      // Labels too close to either end would be clipped by the frame.
      if (xt < MARGIN.left + 24 || xt > WIDTH - MARGIN.right - 24) continue;
      const tick = svg("g", { class: "tick" });
      svg("line", { x1: xt, x2: xt, y1: HEIGHT - MARGIN.bottom, y2: HEIGHT - MARGIN.bottom + 4 }, tick);
      const label = svg("text", { x: xt, y: HEIGHT - 6 }, tick);
      label.textContent = formatClock(t);
      ticks.push(tick);
    }
    this.xAxis.replaceChildren(...ticks);
  }
}

/** One host's stacked user/system CPU time: the one-host page. */
export class CpuChart extends TimeChart {
  constructor(container, size) {
    super(container, size, "CPU user and system time, percent, stacked");
    this.usArea = svg("path", { class: "area us", d: "" }, this.plot);
    this.syArea = svg("path", { class: "area sy", d: "" }, this.plot);
    this.totalLine = svg("path", { class: "line total", d: "" }, this.plot);
  }

  /** Redraws from `runs` (gap-free runs of samples, oldest first, as SampleWindow.runs()). */
  update(runs) {
    const all = runs.flat();
    this.empty.classList.toggle("hidden", all.length > 0);
    if (!all.length) {
      for (const path of [this.usArea, this.syArea, this.totalLine]) path.setAttribute("d", "");
      this.xAxis.replaceChildren();
      return;
    }
    // The whole window always fits: span is at least the time from its oldest to its newest.
    const newest = all[all.length - 1];
    const span = Math.max((this.size - 1) * newest.interval, newest.t - all[0].t, 1e-3);
    const { t0, x, halfStep } = this.scale(newest.t, span, newest.interval);

    let us = "";
    let sy = "";
    let total = "";
    for (const run of runs) {
      const xs = runXs(run, x, halfStep);
      const points = run.length === 1 ? [run[0], run[0]] : run;
      const usTop = points.map((s) => this.y(s.cpu.us));
      const totalTop = points.map((s) => this.y(s.cpu.us + s.cpu.sy));
      us += band(xs, usTop, xs.map(() => this.y(0)));
      sy += band(xs, totalTop, usTop);
      total += polyline(xs, totalTop);
    }
    this.usArea.setAttribute("d", us);
    this.syArea.setAttribute("d", sy);
    this.totalLine.setAttribute("d", total);
    this.drawTimeAxis(t0, newest.t, x);
  }
}

/**
 * One percent line per series (a host's CPU busy, a GPU's utilization), each in its own colour:
 * the ?hosts= page, and the GPUs' charts. `clipId` must be unique on the page.
 */
export class LinesChart extends TimeChart {
  /** `classNames[i]` styles line i (its colour and dash); `label` names the chart. */
  constructor(container, size, classNames, label, clipId) {
    super(container, size, label);
    // Series keep different amounts of history: clip what falls left of the axis.
    const clip = svg("clipPath", { id: clipId }, svg("defs", {}, this.root));
    svg("rect", { x: MARGIN.left, y: 0, width: PLOT_W, height: HEIGHT }, clip);
    this.plot.setAttribute("clip-path", `url(#${clipId})`);
    this.lines = classNames.map((className, i) =>
      svg("path", { class: `line host ${className}`, "data-host": i, d: "" }, this.plot),
    );
  }

  /**
   * Redraws from `series[i]`, line i's gap-free runs of {t, pct} points, oldest first, all on
   * one clock. The axis spans `size` samples at `interval`, ending at the newest point of any
   * series, so a host that stopped scrolls away and never holds the others back.
   */
  update(series, interval) {
    const ends = series.flatMap((runs) => (runs.length ? [runs.at(-1).at(-1).t] : []));
    this.empty.classList.toggle("hidden", ends.length > 0);
    if (!ends.length) {
      for (const line of this.lines) line.setAttribute("d", "");
      this.xAxis.replaceChildren();
      return;
    }
    const t1 = Math.max(...ends);
    const span = Math.max((this.size - 1) * interval, 1e-3);
    const { t0, x, halfStep } = this.scale(t1, span, interval);
    series.forEach((runs, i) => {
      let d = "";
      for (const run of runs) {
        if (run.at(-1).t < t0) continue; // entirely off the left edge
        const points = run.length === 1 ? [run[0], run[0]] : run;
        d += polyline(runXs(run, x, halfStep), points.map((p) => this.y(p.pct)));
      }
      this.lines[i].setAttribute("d", d);
    });
    this.drawTimeAxis(t0, t1, x);
  }
}

/** CPU busy (user + system) as one line per host: the ?hosts= page. */
export class HostsChart extends LinesChart {
  constructor(container, size, classNames) {
    super(container, size, classNames, "CPU busy (user + system) per host, percent", "hosts-clip");
  }
}

/** A run's x positions. A lone sample between two gaps has no width: give it one interval's. */
function runXs(run, x, halfStep) {
  if (run.length > 1) return run.map((s) => x(s.t));
  return [x(run[0].t) - halfStep, x(run[0].t) + halfStep];
}

/** An open line through the points (xs[i], ys[i]). */
function polyline(xs, ys) {
  return xs.map((xi, i) => `${i ? "L" : "M"}${round(xi)} ${ys[i]}`).join("");
}

/** A closed shape between a top and a bottom edge over the same x positions. */
function band(xs, top, bottom) {
  const upper = xs.map((xi, i) => `${i ? "L" : "M"}${round(xi)} ${top[i]}`).join("");
  const lower = xs.map((_, i) => xs.length - 1 - i).map((j) => `L${round(xs[j])} ${bottom[j]}`).join("");
  return `${upper}${lower}Z`;
}
