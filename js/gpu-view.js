// The GPUs' card on the one-host page: utilization and memory used, one line per GPU in each of
// two charts. Hidden until a sample in the window carries GPUs (a machine without them, or
// without NVIDIA's driver, sends none), so such a machine is never offered an empty chart.

import { LinesChart } from "./chart.js";
import { element } from "./dom.js";

const HUES = 8;
/** GPU i's line and swatch classes: the ?hosts= page's colours, dashed past eight. */
export const gpuStyle = (i) => `hue-${i % HUES} dash-${Math.floor(i / HUES) % 3}`;

/**
 * Each GPU's runs of {t, pct} points for one figure (`util` or `mem`), from the window's gap-free
 * `runs`: a sample without that GPU or that figure (a failed reading, MIG mode) breaks its line.
 * Returns [indices, series], the GPUs sorted by index, series[i] the runs of indices[i].
 */
export function gpuSeries(runs, figure) {
  const indices = [...new Set(runs.flat().flatMap((s) => (s.gpu ?? []).map((g) => g.index)))];
  indices.sort((a, b) => a - b);
  const series = indices.map((index) => {
    const out = [];
    for (const run of runs) {
      let current = [];
      for (const sample of run) {
        const pct = (sample.gpu ?? []).find((g) => g.index === index)?.[figure] ?? null;
        if (pct === null) {
          if (current.length) out.push(current);
          current = [];
        } else {
          current.push({ t: sample.t, pct });
        }
      }
      if (current.length) out.push(current);
    }
    return out;
  });
  return [indices, series];
}

/** The card `card` with its legend `legend` and the two charts' containers. */
export class GpuPanel {
  constructor(card, legend, utilBox, memBox, size) {
    Object.assign(this, { card, legend, utilBox, memBox, size });
    this.shown = ""; // the GPU indices the charts were built for, joined
    this.util = null;
    this.mem = null;
  }

  /** Redraws from the window's gap-free `runs`; shows the card only when there are GPUs. */
  update(runs) {
    const [indices, util] = gpuSeries(runs, "util");
    this.card.hidden = indices.length === 0;
    if (!indices.length) return;
    const key = indices.join(",");
    if (key !== this.shown) this.build(indices);
    const newest = runs.at(-1).at(-1);
    this.util.update(util, newest.interval);
    this.mem.update(gpuSeries(runs, "mem")[1], newest.interval);
  }

  build(indices) {
    this.shown = indices.join(",");
    const styles = indices.map(gpuStyle);
    const { utilBox, memBox, size } = this;
    this.util = new LinesChart(utilBox, size, styles, "GPU utilization, percent", "gpu-util-clip");
    this.mem = new LinesChart(memBox, size, styles, "GPU memory used, percent", "gpu-mem-clip");
    const items = indices.map((index, i) => {
      const item = element("li");
      item.dataset.gpu = String(index);
      item.append(element("span", `swatch host ${styles[i]}`), `GPU ${index}`);
      return item;
    });
    this.legend.replaceChildren(...items);
  }
}
