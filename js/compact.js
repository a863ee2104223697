// The compact form of the sample stream (WebSocket subprotocol iostat.compact.v1), read back into
// the objects a JSON viewer gets. The server's iostat_widget/compact.py is the reference: a schema
// message ({"compact": ..., "keys", "fixed", "base"}) once and whenever it changes, then each
// sample as an array of values in the schema's key order. No DOM and no network here.
// The decoded object still goes through parseSample (samples.js), like a JSON one.

export const COMPACT_PROTOCOL = "iostat.compact.v1";

const CODED = new Set(["seq", "t", "date", "interval"]);
const MAX_KEYS = 1024;

/** A message that is not a valid compact message; the page counts it as invalid. */
export class CompactError extends Error {}

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);
const isOffset = (value) => Number.isSafeInteger(value);

function copy(value) {
  if (Array.isArray(value)) return value.map(copy);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty: a "__proto__" key stays a plain key, as JSON.parse made it
      Object.defineProperty(out, key, { value: copy(item), enumerable: true, writable: true });
    }
    return out;
  }
  return value;
}

/** The container holding `key`'s place in `sample`, and the key's last part; or null. */
function parent(sample, key) {
  const parts = key.split(".");
  let place = sample;
  for (const part of parts.slice(0, -1)) {
    if (place === null || typeof place !== "object") return null;
    if (Array.isArray(place) ? !/^\d+$/.test(part) : !Object.hasOwn(place, part)) return null;
    place = place[Array.isArray(place) ? Number(part) : part];
  }
  if (place === null || typeof place !== "object") return null;
  return { place, leaf: parts[parts.length - 1] };
}

/** Whether `key` names a free place of `fixed`: an absent key, or a null list entry. */
function isFree(fixed, key) {
  const found = parent(fixed, key);
  if (found === null) return false;
  const { place, leaf } = found;
  if (Array.isArray(place)) return /^\d+$/.test(leaf) && place[Number(leaf)] === null;
  return !Object.hasOwn(place, leaf);
}

function parseSchema(obj) {
  const { keys, fixed, base } = obj;
  if (obj.compact !== COMPACT_PROTOCOL) throw new CompactError("schema: not iostat.compact.v1");
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_KEYS)
    throw new CompactError("schema: keys must be a list of names");
  if (!keys.every((key) => typeof key === "string") || new Set(keys).size !== keys.length)
    throw new CompactError("schema: keys must be distinct strings");
  if (fixed === null || typeof fixed !== "object" || Array.isArray(fixed))
    throw new CompactError("schema: fixed must be an object");
  if (base === null || typeof base !== "object")
    throw new CompactError("schema: base must be an object");
  if (!isOffset(base.seq) || base.seq < 0) throw new CompactError("schema: bad base.seq");
  if (!isNumber(base.t) || base.t < 0) throw new CompactError("schema: bad base.t");
  if (!isNumber(base.interval) || base.interval <= 0)
    throw new CompactError("schema: bad base.interval");
  for (const key of keys) {
    if (key.split(".").includes("__proto__")) throw new CompactError("schema: odd key");
    if (!CODED.has(key) && !isFree(fixed, key))
      throw new CompactError(`schema: key ${key} has no place in the fixed part`);
  }
  return {
    keys,
    fixed,
    seq0: base.seq,
    t0: Math.round(base.t * 1000),
    step: Math.round(base.interval * 1000),
  };
}

/** The date of a millisecond since the epoch, as the server writes it ("…T04:15:13.123Z"). */
function dateText(ms) {
  return new Date(ms).toISOString();
}

/** Decodes one connection's compact messages; make a new one for each connection. */
export class CompactDecoder {
  constructor() {
    this.schema = null; // the last valid schema received
  }

  /**
   * The sample object a message carries, or null for a schema message (kept for the samples
   * after it). Throws a CompactError for anything else; a bad schema also forgets the last one.
   */
  decode(text) {
    let obj;
    try {
      obj = JSON.parse(text);
    } catch {
      throw new CompactError("message: not JSON");
    }
    if (obj !== null && typeof obj === "object" && !Array.isArray(obj)) {
      this.schema = null;
      this.schema = parseSchema(obj);
      return null;
    }
    if (!Array.isArray(obj)) throw new CompactError("message: expected a schema or an array");
    const schema = this.schema;
    if (schema === null) throw new CompactError("sample: no schema received yet");
    if (obj.length !== schema.keys.length)
      throw new CompactError(`sample: ${obj.length} values for ${schema.keys.length} keys`);
    const sample = copy(schema.fixed);
    const coded = {};
    schema.keys.forEach((key, i) => {
      const value = obj[i];
      if (CODED.has(key)) {
        coded[key] = value;
        return;
      }
      if (!isNumber(value)) throw new CompactError(`${key}: expected a number`);
      const { place, leaf } = parent(sample, key);
      place[Array.isArray(place) ? Number(leaf) : leaf] = value;
    });
    for (const key of ["seq", "t"]) {
      if (!isOffset(coded[key])) throw new CompactError(`${key}: expected an integer offset`);
    }
    const seq = schema.seq0 + coded.seq;
    const tMs = schema.t0 + coded.seq * schema.step + coded.t;
    sample.seq = seq;
    sample.t = tMs / 1000;
    if (isOffset(coded.interval)) sample.interval = (schema.step + coded.interval) / 1000;
    if (typeof coded.date === "string") {
      sample.date = coded.date;
    } else if (isOffset(coded.date)) {
      const dateMs = tMs - coded.date;
      if (!(dateMs >= 0 && dateMs < 253402300800000)) throw new CompactError("date: out of range");
      sample.date = dateText(dateMs);
    }
    return sample;
  }
}
