// Small file helpers of the file engine, and the error text it reports.
import type { FileHandle } from 'node:fs/promises';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from '../types.js';

export const errText = (err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  return e && typeof e === 'object' ? (e.code ? `${e.code}: ${e.message}` : e.message) : String(err);
};
export const isNotFound = (err: unknown) => (err as NodeJS.ErrnoException)?.code === 'ENOENT';
export const asStorageError = (what: string, err: unknown) =>
  err instanceof StorageError ? err : new StorageError(`${what}: ${errText(err)}`);

export async function readExact(fh: FileHandle, buf: Buffer, off: number, len: number, pos: number): Promise<void> {
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(buf, off + done, len - done, pos + done);
    if (bytesRead === 0) throw new StorageError(`short read at file position ${pos + done}`);
    done += bytesRead;
  }
}

export async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const b = Buffer.allocUnsafe(len);
  await readExact(fh, b, 0, len, pos);
  return b;
}

/** Writes `bufs` back to back from `pos`: one writev, continued only after a short write. */
export async function writeAllAt(fh: FileHandle, bufs: Buffer[], pos: number): Promise<void> {
  let rest = bufs;
  for (;;) {
    const { bytesWritten } = rest.length === 1 ? await fh.write(rest[0], 0, rest[0].length, pos) : await fh.writev(rest, pos);
    let left = bytesWritten;
    if (left <= 0) throw new Error('write made no progress');
    pos += left;
    let k = 0;
    while (k < rest.length && left >= rest[k].length) left -= rest[k++].length;
    if (k === rest.length) return;
    rest = [rest[k].subarray(left), ...rest.slice(k + 1)];
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

let tmpCounter = 0;
/** Write-to-temp, fsync, rename, fsync dir: readers see the old or the new file, never a mix. */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.${++tmpCounter}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  await fsyncDir(join(file, '..'));
}

export async function writeWholeFile(file: string, data: Buffer, sync: boolean): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.writeFile(data);
    if (sync) await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function readOptional(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

export async function unlinkQuiet(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
