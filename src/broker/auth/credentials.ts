// The SCRAM credential store: every user's credentials per mechanism (salt, iterations, StoredKey,
// ServerKey; never a password), kept in memory and written to the internal log
// `__fjord_scram_credentials` (Storage.internalLog: a file under the data dir's __internal/ with the
// file engine, memory only with the memory engine), replayed on start (the last record of a user
// and mechanism wins) and, in cluster mode, followed while running (`catchUp` at each poll).
// PLAIN checks passwords against the same store (see sasl.ts).
//
// Record format (format version 1). Key and value are UTF-8 JSON:
//
//   key   ["scram", <user>, "SCRAM-SHA-256" | "SCRAM-SHA-512"]
//   value {"v":1, "salt":<base64>, "iterations":<int>, "storedKey":<base64>, "serverKey":<base64>}
//   a null value (tombstone) deletes that credential.
//
// Each change is one uncompressed batch appended with {sync: true} before the store answers. The
// log is not compacted (changes are rare); records of an unknown shape are skipped with a warning.
import type { Storage } from '../../storage/types.js';
import { FollowedLog, parseJsonRecord } from '../internal-log.js';
import type { Logger } from '../logger.js';
import { isScramMechanism, type ScramCredential, type ScramMechanism } from './scram.js';

export const SCRAM_LOG = '__fjord_scram_credentials';
const FORMAT_VERSION = 1;

function encode(user: string, mechanism: ScramMechanism, cred: ScramCredential | null): { key: Buffer; value: Buffer | null } {
  return {
    key: Buffer.from(JSON.stringify(['scram', user, mechanism])),
    value: cred === null ? null : Buffer.from(JSON.stringify({
      v: FORMAT_VERSION, salt: cred.salt.toString('base64'), iterations: cred.iterations,
      storedKey: cred.storedKey.toString('base64'), serverKey: cred.serverKey.toString('base64'),
    })),
  };
}

function decode(key: Buffer | null, value: Buffer | null): { user: string; mechanism: ScramMechanism; cred: ScramCredential | null } | string {
  const parsed = parseJsonRecord(key, value);
  if (typeof parsed === 'string') return parsed;
  const { key: k, value: v } = parsed;
  if (!Array.isArray(k) || k.length !== 3 || k[0] !== 'scram' || typeof k[1] !== 'string' || typeof k[2] !== 'string' || !isScramMechanism(k[2])) return 'record with an unknown key';
  const [, user, mechanism] = k as [string, string, ScramMechanism];
  if (v === null) return { user, mechanism, cred: null };
  if (typeof v !== 'object') return 'malformed credential record';
  const x = v as Record<string, unknown>;
  if (x.v !== FORMAT_VERSION) return `record of format version ${String(x.v)}`;
  if (typeof x.salt !== 'string' || typeof x.storedKey !== 'string' || typeof x.serverKey !== 'string' || typeof x.iterations !== 'number' || !Number.isSafeInteger(x.iterations)) {
    return 'malformed credential record';
  }
  return {
    user, mechanism,
    cred: { salt: Buffer.from(x.salt, 'base64'), iterations: x.iterations, storedKey: Buffer.from(x.storedKey, 'base64'), serverKey: Buffer.from(x.serverKey, 'base64') },
  };
}

export class CredentialStore {
  private readonly users = new Map<string, Map<ScramMechanism, ScramCredential>>();
  /** Changes one at a time, in order: the log and the map agree. */
  private readonly log: FollowedLog;

  constructor(private readonly storage: Storage, logger: Logger) {
    this.log = new FollowedLog(SCRAM_LOG, 'credential store', (key, value, offset, skipped) => {
      const d = decode(key, value);
      if (typeof d === 'string') skipped(d, offset);
      else this.apply(d.user, d.mechanism, d.cred);
    }, logger);
  }

  /** Opens the log and replays it (after storage opened). */
  start(): Promise<void> {
    return this.log.open(this.storage);
  }

  /** Applies what was appended to the log since (by the broker leading it, in cluster mode). */
  catchUp(): Promise<void> {
    return this.log.catchUp();
  }

  private apply(user: string, mechanism: ScramMechanism, cred: ScramCredential | null): void {
    let byMech = this.users.get(user);
    if (cred === null) {
      byMech?.delete(mechanism);
      if (byMech && byMech.size === 0) this.users.delete(user);
      return;
    }
    if (!byMech) this.users.set(user, (byMech = new Map()));
    byMech.set(mechanism, cred);
  }

  get(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
    return this.users.get(user)?.get(mechanism);
  }

  /** Every user with a credential, and theirs, sorted by name. */
  list(): { user: string; credentials: { mechanism: ScramMechanism; iterations: number }[] }[] {
    return [...this.users.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([user, m]) => ({ user, credentials: [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([mechanism, c]) => ({ mechanism, iterations: c.iterations })) }));
  }

  /** Writes a change durably, then applies it. `cred` null deletes. */
  set(user: string, mechanism: ScramMechanism, cred: ScramCredential | null): Promise<void> {
    return this.log.write([encode(user, mechanism, cred)], () => this.apply(user, mechanism, cred));
  }
}
