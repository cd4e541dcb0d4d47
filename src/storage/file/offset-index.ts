// Sparse offset index of a segment (in memory: growable typed arrays; on disk: the same entries
// big-endian): every `indexIntervalBytes`, the relative offset and file position of a batch.

const OFFSET_ENTRY = 8;

export class OffsetIndex {
  private rel = new Int32Array(16);
  private pos = new Int32Array(16);
  length = 0;

  push(rel: number, pos: number): void {
    if (this.length > 0 && (rel <= this.rel[this.length - 1] || pos <= this.pos[this.length - 1])) {
      throw new Error(`assertion: offset index entry (${rel}, ${pos}) not after the last one`);
    }
    if (this.length === this.rel.length) {
      const r = new Int32Array(this.length * 2);
      const p = new Int32Array(this.length * 2);
      r.set(this.rel);
      p.set(this.pos);
      this.rel = r;
      this.pos = p;
    }
    this.rel[this.length] = rel;
    this.pos[this.length] = pos;
    this.length++;
  }

  /** Position of the last entry at or before this batch (file position 0 when none). */
  lastPosition(): number {
    return this.length > 0 ? this.pos[this.length - 1] : 0;
  }

  lastEntry(): { rel: number; pos: number } | null {
    return this.length > 0 ? { rel: this.rel[this.length - 1], pos: this.pos[this.length - 1] } : null;
  }

  /** File position of a batch starting at or before relative offset `rel`. */
  lookup(rel: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.rel[mid] <= rel) {
        found = this.pos[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Drops entries at or past `size` (bytes truncated after a failed write). */
  truncateTo(size: number): void {
    while (this.length > 0 && this.pos[this.length - 1] >= size) this.length--;
  }

  clear(): void {
    this.length = 0;
  }

  encode(): Buffer {
    const b = Buffer.allocUnsafe(this.length * OFFSET_ENTRY);
    for (let i = 0; i < this.length; i++) {
      b.writeInt32BE(this.rel[i], i * OFFSET_ENTRY);
      b.writeInt32BE(this.pos[i], i * OFFSET_ENTRY + 4);
    }
    return b;
  }

  /** Loads entries written by encode(); false (and empty) when they are not plausible. */
  decode(b: Buffer, fileSize: number): boolean {
    this.clear();
    if (b.length % OFFSET_ENTRY !== 0) return false;
    for (let at = 0; at < b.length; at += OFFSET_ENTRY) {
      const rel = b.readInt32BE(at);
      const pos = b.readInt32BE(at + 4);
      const last = this.lastEntry();
      if (rel < 0 || pos < 0 || pos >= fileSize || (last && (rel <= last.rel || pos <= last.pos))) {
        this.clear();
        return false;
      }
      this.push(rel, pos);
    }
    return true;
  }
}
