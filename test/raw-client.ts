// A minimal raw Kafka connection for tests that need to send exact bytes: garbage, split frames,
// pipelined requests. Encodes with Fjord's own codec.
import net from 'node:net';
import { apiSchema } from '../src/protocol/apis.js';
import { compile } from '../src/protocol/codec.js';
import { readResponseHeader, writeRequestHeader } from '../src/protocol/header.js';
import { Reader, Writer } from '../src/protocol/primitives.js';

/**
 * A message as these tests write and read it. Deliberately untyped (test-only): they send bodies
 * of any API and version, malformed ones included, and poke at whatever fields come back.
 */
export type Message = Record<string, any>;

export class RawConnection {
  private buffered = Buffer.alloc(0);
  private waiters: ((frame: Buffer) => void)[] = [];
  private frames: Buffer[] = [];
  closed: Promise<void>;
  isClosed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const size = this.buffered.readInt32BE(0);
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        const w = this.waiters.shift();
        if (w) w(frame); else this.frames.push(frame);
      }
    });
    this.closed = new Promise((resolve) => socket.on('close', () => { this.isClosed = true; resolve(); }));
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }

  /** Encodes one request frame (size prefix included). */
  static frame(apiKey: number, apiVersion: number, correlationId: number, body: Message, clientId = 'raw'): Buffer {
    const w = new Writer();
    writeRequestHeader(w, { apiKey, apiVersion, correlationId, clientId });
    compile(apiSchema(apiKey)!.request, apiVersion).encode(w, body);
    const payload = w.finish();
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    return Buffer.concat([size, payload]);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  nextFrame(timeoutMs = 5000): Promise<Buffer> {
    const ready = this.frames.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no response frame')), timeoutMs);
      this.waiters.push((f) => { clearTimeout(t); resolve(f); });
    });
  }

  /** Reads the next response and decodes it as `apiKey` at `decodeVersion`. */
  async response(apiKey: number, apiVersion: number, decodeVersion = apiVersion): Promise<{ correlationId: number; body: Message }> {
    const frame = await this.nextFrame();
    const r = new Reader(frame);
    const correlationId = readResponseHeader(r, apiKey, apiVersion);
    return { correlationId, body: compile(apiSchema(apiKey)!.response, decodeVersion).decode(r) };
  }

  async request(apiKey: number, apiVersion: number, body: Message, correlationId = 1): Promise<Message> {
    this.write(RawConnection.frame(apiKey, apiVersion, correlationId, body));
    const res = await this.response(apiKey, apiVersion);
    if (res.correlationId !== correlationId) throw new Error(`correlation ${res.correlationId} != ${correlationId}`);
    return res.body;
  }

  close(): void {
    this.socket.destroy();
  }
}
