// Time index of a segment (in memory: growable typed arrays; on disk: the same entries
// big-endian): the max timestamp so far and the relative offset of the batch that reached it.

const TIME_ENTRY = 12;
/** Below any real timestamp (Kafka uses -1 for "none"), so the first batch always raises it. */
export const NO_TIMESTAMP = Number.MIN_SAFE_INTEGER;

export class TimeIndex {
  private ts = new Float64Array(16);
  private rel = new Int32Array(16);
  length = 0;

  lastTimestamp(): number {
    return this.length > 0 ? this.ts[this.length - 1] : NO_TIMESTAMP;
  }

  push(ts: number, rel: number): void {
    if (this.length > 0 && (ts <= this.ts[this.length - 1] || rel < this.rel[this.length - 1])) {
      throw new Error(`assertion: time index entry (${ts}, ${rel}) not after the last one`);
    }
    if (this.length === this.ts.length) {
      const t = new Float64Array(this.length * 2);
      const r = new Int32Array(this.length * 2);
      t.set(this.ts);
      r.set(this.rel);
      this.ts = t;
      this.rel = r;
    }
    this.ts[this.length] = ts;
    this.rel[this.length] = rel;
    this.length++;
  }

  /**
   * Relative offset from which to scan for the first batch with max timestamp >= `ts`: every
   * batch up to an entry has a timestamp <= the entry's, so the last entry below `ts` is safe.
   */
  lookup(ts: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.ts[mid] < ts) {
        found = this.rel[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Drops entries for batches at or past relative offset `rel`. */
  truncateTo(rel: number): void {
    while (this.length > 0 && this.rel[this.length - 1] >= rel) this.length--;
  }

  clear(): void {
    this.length = 0;
  }

  encode(): Buffer {
    const b = Buffer.allocUnsafe(this.length * TIME_ENTRY);
    for (let i = 0; i < this.length; i++) {
      b.writeBigInt64BE(BigInt(this.ts[i]), i * TIME_ENTRY);
      b.writeInt32BE(this.rel[i], i * TIME_ENTRY + 8);
    }
    return b;
  }

  decode(b: Buffer, relLimit: number): boolean {
    this.clear();
    if (b.length % TIME_ENTRY !== 0) return false;
    for (let at = 0; at < b.length; at += TIME_ENTRY) {
      const ts = Number(b.readBigInt64BE(at));
      const rel = b.readInt32BE(at + 8);
      const bad =
        rel < 0 ||
        rel >= relLimit ||
        (this.length > 0 && (ts <= this.ts[this.length - 1] || rel < this.rel[this.length - 1]));
      if (bad) {
        this.clear();
        return false;
      }
      this.push(ts, rel);
    }
    return true;
  }
}
