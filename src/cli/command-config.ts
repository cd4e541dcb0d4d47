// `--command-config <file>`: Kafka's client properties file (what kafka-topics.sh & co. take), so
// the same file reaches Fjord and Kafka brokers alike: security.protocol, sasl.mechanism,
// sasl.jaas.config (PLAIN / SCRAM login modules), ssl.* in PEM form, client.id, request.timeout.ms,
// bootstrap.servers. A property Fjord's client does not act on stops the command with its name,
// never silently ignored.
import { readFileSync } from 'node:fs';
import type tls from 'node:tls';
import { parseProperties } from '../broker/config-file.js';
import type { SaslOptions } from '../client/index.js';
import { UsageError } from './usage-error.js';

/** What a client properties file sets for Fjord's client. */
export interface CommandConfig {
  ssl?: tls.ConnectionOptions;
  sasl?: SaslOptions;
  clientId?: string;
  requestTimeout?: number;
  brokers?: string[];
}

const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
/** Properties that change nothing for this client and are accepted as such. */
const NO_EFFECT = new Set(['ssl.truststore.type', 'ssl.keystore.type', 'ssl.protocol', 'ssl.enabled.protocols']);

/** `org.apache.kafka...LoginModule required username="a" password="b";` → { username, password }. */
export function parseJaas(text: string, file: string): { module: string; options: Record<string, string> } {
  const m = /^\s*([\w.$]+)\s+(required|requisite|sufficient|optional)\s+(.*?)\s*;\s*$/s.exec(text);
  if (!m) throw new UsageError(`${file}: sasl.jaas.config is not "<LoginModule> required key=\\"value\\" ...;"`);
  const options: Record<string, string> = {};
  const re = /([\w.]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s";]+))/g;
  for (let o = re.exec(m[3]); o; o = re.exec(m[3])) options[o[1]] = o[2] !== undefined ? o[2].replace(/\\(.)/g, '$1') : o[3];
  return { module: m[1], options };
}

const readPem = (path: string, what: string, file: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
};

/** The key=value lines of a Java properties file; `flag` names the option that gave the file in errors. */
export function readPropertiesFile(file: string, flag: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return new Map(parseProperties(text).map((p) => [p.key, p.value]));
}

/** Whether a client property is one the connection settings below act on. */
export function isConnectionProperty(key: string): boolean {
  return key.startsWith('ssl.') || key.startsWith('sasl.') || ['security.protocol', 'client.id', 'request.timeout.ms', 'bootstrap.servers'].includes(key);
}

export function loadCommandConfig(file: string): CommandConfig {
  return commandConfigFrom(readPropertiesFile(file, '--command-config'), file);
}

/**
 * The connection settings of client properties (`file` names where they came from in errors).
 * Takes what it uses out of `props`; anything left stops the command with its name.
 */
export function commandConfigFrom(props: Map<string, string>, file: string): CommandConfig {
  const take = (key: string): string | undefined => {
    const v = props.get(key);
    props.delete(key);
    return v;
  };
  const out: CommandConfig = {};
  const protocol = (take('security.protocol') ?? 'PLAINTEXT').toUpperCase();
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) throw new UsageError(`${file}: security.protocol must be one of ${PROTOCOLS.join(', ')}, not "${protocol}"`);
  const clientId = take('client.id');
  if (clientId) out.clientId = clientId;
  const timeout = take('request.timeout.ms');
  if (timeout !== undefined) {
    const n = Number(timeout);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${file}: request.timeout.ms must be a positive integer, not "${timeout}"`);
    out.requestTimeout = n;
  }
  const bootstrap = take('bootstrap.servers');
  if (bootstrap) out.brokers = bootstrap.split(',').map((s) => s.trim()).filter(Boolean);

  const usesSsl = protocol === 'SSL' || protocol === 'SASL_SSL';
  const sslKeys = [...props.keys()].filter((k) => k.startsWith('ssl.') && !NO_EFFECT.has(k));
  if (!usesSsl && sslKeys.length > 0) throw new UsageError(`${file}: ${sslKeys.join(', ')} need security.protocol SSL or SASL_SSL (it is ${protocol})`);
  const ssl: tls.ConnectionOptions = {};
  const truststore = take('ssl.truststore.location');
  const trustInline = take('ssl.truststore.certificates');
  if (truststore) ssl.ca = readPem(truststore, 'ssl.truststore.location', file);
  else if (trustInline) ssl.ca = trustInline;
  const keystore = take('ssl.keystore.location');
  const keyInline = take('ssl.keystore.key');
  const chainInline = take('ssl.keystore.certificate.chain');
  const keyPassword = take('ssl.key.password');
  if (keystore) {
    const pem = readPem(keystore, 'ssl.keystore.location', file);
    ssl.key = pem;
    ssl.cert = pem;
  } else if (keyInline || chainInline) {
    if (!keyInline || !chainInline) throw new UsageError(`${file}: ssl.keystore.key and ssl.keystore.certificate.chain go together`);
    ssl.key = keyInline;
    ssl.cert = chainInline;
  }
  if (keyPassword) ssl.passphrase = keyPassword;
  const identification = take('ssl.endpoint.identification.algorithm');
  if (identification === '') ssl.checkServerIdentity = () => undefined; // Kafka's way to turn hostname checks off
  else if (identification !== undefined && identification.toLowerCase() !== 'https') {
    throw new UsageError(`${file}: ssl.endpoint.identification.algorithm must be https or empty, not "${identification}"`);
  }
  if (usesSsl) out.ssl = ssl;

  const mechanism = take('sasl.mechanism');
  const jaas = take('sasl.jaas.config');
  if (protocol.startsWith('SASL_')) {
    const m = (mechanism ?? 'GSSAPI').toUpperCase();
    if (m !== 'PLAIN' && m !== 'SCRAM-SHA-256' && m !== 'SCRAM-SHA-512') {
      throw new UsageError(`${file}: sasl.mechanism ${m} is not supported by this command line (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)`);
    }
    if (!jaas) throw new UsageError(`${file}: sasl.jaas.config is needed with security.protocol ${protocol} (username and password)`);
    const { options } = parseJaas(jaas, file);
    if (options.username === undefined || options.password === undefined) throw new UsageError(`${file}: sasl.jaas.config needs username="..." and password="..."`);
    const lower = m.toLowerCase() as 'plain' | 'scram-sha-256' | 'scram-sha-512';
    out.sasl = { mechanism: lower, username: options.username, password: options.password };
  } else if (mechanism !== undefined || jaas !== undefined) {
    throw new UsageError(`${file}: sasl.* properties need security.protocol SASL_PLAINTEXT or SASL_SSL (it is ${protocol})`);
  }
  for (const key of NO_EFFECT) props.delete(key);
  if (props.size > 0) throw new UsageError(`${file}: not supported by Fjord's command line: ${[...props.keys()].join(', ')}`);
  return out;
}
