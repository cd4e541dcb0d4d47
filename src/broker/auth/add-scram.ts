// `fjord server --add-scram`: users created at start, in the syntax of Kafka's
// `kafka-storage format --add-scram`:
//
//   SCRAM-SHA-256=[name=alice,password=alice-secret]
//   SCRAM-SHA-512=[name=bob,iterations=8192,salt="<base64>",saltedpassword="<base64>"]
//
// Several entries may be given, separated by ';' or by ',' between "]" and the next mechanism.
// Values may be in double quotes. A credential the store already has for that user and mechanism
// is kept (as `format` only runs once): the flag creates the first users, it does not reset
// passwords changed since.
import type { Logger } from '../logger.js';
import type { CredentialStore } from './credentials.js';
import {
  DEFAULT_ITERATIONS, MAX_ITERATIONS, MIN_ITERATIONS, credentialFromPassword, credentialFromSaltedPassword, digestOf, isScramMechanism,
  type ScramMechanism,
} from './scram.js';

export interface ScramUserSpec {
  readonly mechanism: ScramMechanism;
  readonly name: string;
  readonly iterations: number;
  readonly password?: string;
  readonly salt?: Buffer;
  readonly saltedPassword?: Buffer;
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** Parses the flag's text; throws an Error starting with `flag` on anything malformed. */
export function parseAddScram(text: string, flag: string): ScramUserSpec[] {
  const entries = text.split(/(?<=\])\s*[,;]\s*/).map((e) => e.trim()).filter(Boolean);
  if (entries.length === 0) throw new Error(`${flag} must not be empty`);
  return entries.map((entry) => {
    const m = /^([A-Z0-9-]+)=\[(.*)\]$/s.exec(entry);
    if (!m) throw new Error(`${flag} takes MECHANISM=[name=...,password=...], not "${entry}"`);
    const mechanism = m[1];
    if (!isScramMechanism(mechanism)) throw new Error(`${flag}: unsupported SCRAM mechanism ${mechanism} (SCRAM-SHA-256 or SCRAM-SHA-512)`);
    const fields = new Map<string, string>();
    // key=value pairs split on commas outside double quotes.
    for (const part of m[2].match(/(?:[^,"]|"[^"]*")+/g) ?? []) {
      const at = part.indexOf('=');
      if (at <= 0) throw new Error(`${flag}: expected key=value, not "${part}"`);
      const key = part.slice(0, at).trim().toLowerCase();
      if (!['name', 'password', 'iterations', 'salt', 'saltedpassword'].includes(key)) throw new Error(`${flag}: unknown key "${key}" (name, password, iterations, salt, saltedpassword)`);
      if (fields.has(key)) throw new Error(`${flag}: "${key}" given twice`);
      fields.set(key, unquote(part.slice(at + 1).trim()));
    }
    const name = fields.get('name');
    if (!name) throw new Error(`${flag}: every entry needs name=`);
    const iterText = fields.get('iterations');
    const iterations = iterText === undefined ? DEFAULT_ITERATIONS : Number(iterText);
    if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
      throw new Error(`${flag}: iterations must be an integer from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}, not "${iterText}"`);
    }
    const password = fields.get('password');
    const salt = fields.get('salt');
    const salted = fields.get('saltedpassword');
    if (password !== undefined) {
      if (salt !== undefined || salted !== undefined) throw new Error(`${flag}: give either password or salt and saltedpassword for ${name}, not both`);
      if (password === '') throw new Error(`${flag}: empty password for ${name}`);
      return { mechanism, name, iterations, password };
    }
    if (salt === undefined || salted === undefined) throw new Error(`${flag}: ${name} needs password=, or salt= and saltedpassword=`);
    const saltBytes = Buffer.from(salt, 'base64');
    const saltedBytes = Buffer.from(salted, 'base64');
    if (saltBytes.length === 0) throw new Error(`${flag}: empty salt for ${name}`);
    if (saltedBytes.length !== digestOf(mechanism).length) throw new Error(`${flag}: saltedpassword of ${name} must be ${digestOf(mechanism).length} bytes (base64) for ${mechanism}`);
    return { mechanism, name, iterations, salt: saltBytes, saltedPassword: saltedBytes };
  });
}

/** The flag's value as text again, passwords hidden. */
export function formatAddScram(specs: readonly ScramUserSpec[]): string {
  return specs.map((s) => `${s.mechanism}=[name=${s.name},${s.password !== undefined ? 'password=***' : 'salt=***,saltedpassword=***'},iterations=${s.iterations}]`).join(';');
}

/** Creates the users the store does not have yet. */
export async function addScramUsers(store: CredentialStore, specs: readonly ScramUserSpec[], logger: Logger): Promise<void> {
  for (const s of specs) {
    if (store.get(s.name, s.mechanism)) {
      logger.info(`--add-scram: ${s.mechanism} credential of ${s.name} already exists; kept`);
      continue;
    }
    const cred = s.password !== undefined
      ? await credentialFromPassword(s.mechanism, s.password, s.iterations)
      : credentialFromSaltedPassword(s.mechanism, s.salt!, s.iterations, s.saltedPassword!);
    await store.set(s.name, s.mechanism, cred);
    logger.info(`--add-scram: created the ${s.mechanism} credential of ${s.name}`);
  }
}
