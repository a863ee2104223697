// Sample bookkeeping for the page: validation, the recent window, gaps and number formatting.
// No DOM and no network here, so every rule about which sample counts can be checked on its own.

/** How many recent samples the page keeps (the server sends up to this many on connect). */
export const WINDOW_SIZE = 60;

/**
 * Consecutive samples further apart than this many nominal intervals are drawn with a gap between.
 * The gap rule (GAP_INTERVALS, nominalInterval, isGap) is the widget's iostat_widget/gaps.py, and
 * both are tested against the same sequences in tests/fixtures/gap_sequences.json.
 */
export const GAP_INTERVALS = 2.5;

/** Seconds; the least nominal interval a gap is judged against. */
export const MIN_NOMINAL = 1e-3;

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

function numbers(part, keys) {
  // Optional sections read as null when absent or malformed, so one odd field blanks one cell.
  const out = {};
  for (const key of keys) {
    out[key] = part !== null && typeof part === "object" && isNumber(part[key]) ? part[key] : null;
  }
  return out;
}

/** The most GPUs one sample lists (the server's schema allows as many). */
export const MAX_GPUS = 64;

const isPercent = (value) => isNumber(value) && value >= 0 && value <= 100.5;

/**
 * A sample's GPUs as [{index, util, mem}] by index (util/mem: percent, or null where the GPU does
 * not report it, as in MIG mode), or null when the sample carries none. Malformed entries are
 * left out, and so is a repeated index.
 */
export function parseGpus(part) {
  if (!Array.isArray(part)) return null;
  const gpus = new Map();
  for (const entry of part.slice(0, MAX_GPUS)) {
    if (entry === null || typeof entry !== "object") continue;
    const { index } = entry;
    if (!Number.isInteger(index) || index < 0 || index >= MAX_GPUS || gpus.has(index)) continue;
    const util = isPercent(entry.util_pct) ? entry.util_pct : null;
    const mem = isPercent(entry.mem_used_pct) ? entry.mem_used_pct : null;
    gpus.set(index, { index, util, mem });
  }
  return [...gpus.values()].sort((a, b) => a.index - b.index);
}

/**
 * A clean copy of one wire sample, or null when it is not one. Only seq, t and the CPU shares the
 * page draws are required; the page never trusts a field's type without checking it.
 */
export function parseSample(obj) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return null;
  const { seq, t, date, host, interval } = obj;
  if (!Number.isSafeInteger(seq) || seq < 0 || !isNumber(t)) return null;
  const cpu = numbers(obj.cpu, ["us", "sy", "id", "wa", "st"]);
  if (cpu.us === null || cpu.sy === null) return null;
  return {
    seq,
    t,
    date: typeof date === "string" ? date : "",
    host: typeof host === "string" ? host : "",
    interval: isNumber(interval) && interval > 0 ? interval : 1,
    cpu,
    disk: numbers(obj.disk, ["read_bps", "write_bps"]),
    net: numbers(obj.net, ["rx_bps", "tx_bps"]),
    mem: numbers(obj.mem, ["used_pct"]),
    scope: obj.scope === "container" ? "container" : "host",
    gpu: parseGpus(obj.gpu),
  };
}

/**
 * The nominal interval of a window of samples, in seconds: the lower median of their `interval`s
 * (sorted ascending, the element at index (n - 1) / 2 rounded down), floored at MIN_NOMINAL. One
 * late sample cannot stretch it, and a two-sample window [1, 6.5] gives 1. Throws a RangeError
 * for no samples.
 */
export function nominalInterval(samples) {
  if (!samples.length) throw new RangeError("nominal interval of no samples");
  const intervals = samples.map((s) => s.interval).sort((a, b) => a - b);
  return Math.max(intervals[Math.floor((intervals.length - 1) / 2)], MIN_NOMINAL);
}

/**
 * The nominal interval each sample is judged by: that of its run (a stretch from one server
 * run, ended where seq goes down: a restarted server, perhaps at another interval).
 */
export function nominalIntervals(samples) {
  const nominals = [];
  let start = 0;
  for (let end = 1; end <= samples.length; end++) {
    if (end === samples.length || samples[end].seq <= samples[end - 1].seq) {
      const nominal = nominalInterval(samples.slice(start, end));
      for (let i = start; i < end; i++) nominals.push(nominal);
      start = end;
    }
  }
  return nominals;
}

/**
 * True when `next` does not directly follow `prev`, judged against the window's `nominal`
 * interval (seconds, floored at MIN_NOMINAL): a lost sample or a new server (seq not +1), a clock
 * stepped back (t not later), too long between them, or a sample whose rates cover a pause
 * (its own interval over GAP_INTERVALS nominal intervals: a frozen or suspended server).
 */
export function isGap(prev, next, nominal) {
  const limit = GAP_INTERVALS * Math.max(nominal, MIN_NOMINAL);
  return (
    next.seq !== prev.seq + 1 ||
    next.t <= prev.t ||
    next.t - prev.t > limit ||
    next.interval > limit
  );
}

/** The last `size` samples, each kept once however many times the transports deliver it. */
export class SampleWindow {
  constructor(size = WINDOW_SIZE) {
    this.size = size;
    this.samples = []; // oldest first
    this.received = 0; // samples accepted since the page opened
    this.duplicates = 0; // samples skipped because they were already seen
    this.invalid = 0; // messages that were not samples
  }

  get newest() {
    return this.samples.length ? this.samples[this.samples.length - 1] : null;
  }

  /** The newest sample's number, or -1: what long polling asks to continue after. */
  get lastSeq() {
    return this.newest ? this.newest.seq : -1;
  }

  /**
   * Adds one decoded message; returns true if it was a new sample. A reconnect replays recent
   * history, so a number already passed is a duplicate, unless its time is later: a restarted
   * server numbers from 0 again, and those samples are new.
   */
  add(obj) {
    const sample = parseSample(obj);
    if (sample === null) {
      this.invalid += 1;
      return false;
    }
    const newest = this.newest;
    if (newest !== null && sample.seq <= newest.seq && sample.t <= newest.t) {
      this.duplicates += 1;
      return false;
    }
    this.samples.push(sample);
    if (this.samples.length > this.size) this.samples.splice(0, this.samples.length - this.size);
    this.received += 1;
    return true;
  }

  /** Adds every message of a batch; returns how many were new. */
  addAll(list) {
    let added = 0;
    for (const obj of list) if (this.add(obj)) added += 1;
    return added;
  }

  /** Up to `count` samples, newest first (the table's order). */
  latest(count) {
    return this.samples.slice(-count).reverse();
  }

  /** The samples split into runs without gaps, oldest first: each run is drawn as one shape. */
  runs() {
    const runs = [];
    const nominals = nominalIntervals(this.samples);
    let run = [];
    for (const [i, sample] of this.samples.entries()) {
      if (run.length && isGap(run[run.length - 1], sample, nominals[i])) {
        runs.push(run);
        run = [];
      }
      run.push(sample);
    }
    if (run.length) runs.push(run);
    return runs;
  }
}

/** A percentage with one decimal, or a dash for a missing value. */
export function formatPercent(value) {
  return value === null || value === undefined ? "–" : value.toFixed(1);
}

const RATE_UNITS = ["B/s", "kB/s", "MB/s", "GB/s", "TB/s", "PB/s"];

/** Bytes per second in decimal units, e.g. "4.1 kB/s". */
export function formatRate(bps) {
  if (bps === null || bps === undefined) return "–";
  let value = bps;
  let unit = 0;
  // Compare against what would be printed, so 999.97 kB/s reads "1.0 MB/s", not "1000.0 kB/s".
  while (value >= 999.5 && unit < RATE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 99.95 ? 0 : 1;
  return `${value.toFixed(digits)} ${RATE_UNITS[unit]}`;
}

/** How long ago, for the "newest sample" field: "0.4 s", "12 s", "3 min 5 s", "2 h 1 min". */
export function formatAge(seconds) {
  if (!isNumber(seconds)) return "–";
  const s = Math.max(seconds, 0);
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The time of day of an ISO-8601 date ("04:15:13.123"); anything else is shown as it came. */
export function formatTime(date) {
  const match = /T(\d\d:\d\d:\d\d(?:\.\d{1,3})?)/.exec(date);
  return match ? match[1] : date;
}

/** Epoch seconds as UTC "HH:MM:SS", for the chart's time axis. */
export function formatClock(t) {
  return new Date(t * 1000).toISOString().slice(11, 19);
}
