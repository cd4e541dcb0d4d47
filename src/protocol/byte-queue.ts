// A queue of received byte chunks from which whole length-prefixed frames are taken. Shared by
// the broker's and the client's connections; pure buffers, no I/O.

export class ByteQueue {
  private chunks: Buffer[] = [];
  private buffered = 0;

  get length(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  clear(): void {
    this.chunks = [];
    this.buffered = 0;
  }

  /** The big-endian int32 at the front (a frame's size); the caller checks length >= 4 first. */
  peekInt32(): number {
    const first = this.chunks[0];
    if (first.length >= 4) return first.readInt32BE(0);
    return Buffer.concat(this.chunks, Math.min(this.buffered, 4)).readInt32BE(0);
  }

  /** Removes and returns the first `n` bytes (a view, without copying, when one chunk holds them). */
  take(n: number): Buffer {
    if (n > this.buffered) throw new Error(`assertion: take(${n}) with ${this.buffered} bytes buffered`);
    this.buffered -= n;
    const first = this.chunks[0];
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0];
      const use = Math.min(c.length, n - at);
      c.copy(out, at, 0, use);
      at += use;
      if (use === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(use);
    }
    return out;
  }
}
