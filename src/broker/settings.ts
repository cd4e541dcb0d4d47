// Every setting of the broker in one table: our name (the BrokerConfig key), Kafka's name, the
// `fjord server` flag and environment variable, the type with its allowed values, the default
// (written here and nowhere else), the scope and one line of description. Topic settings say
// which broker setting supplies their default. The table drives `fjord server`'s parsing and
// help, DescribeConfigs, the validation of topic configs, and docs/settings.md
// (scripts/gen-settings-doc.ts writes it; a test checks it).
import { AUTHORIZER_NAMES, validPrincipal } from './auth/acls.js';
import { formatAddScram, parseAddScram, type ScramUserSpec } from './auth/add-scram.js';
import { SASL_MECHANISMS } from './auth/sasl.js';
import type { BrokerConfig, ListenerSslOverrides } from './config.js';
import { SECURITY_PROTOCOLS, parseEndpoint } from './listeners.js';
import type { LogFormatSetting, LogLevel } from './logger.js';
import { parsePrincipalRules } from './tls.js';

/** Kafka's ConfigType, as DescribeConfigs v3+ reports it. */
export const KAFKA_CONFIG_TYPE = { BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, DOUBLE: 6, LIST: 7 } as const;
export type KafkaConfigType = keyof typeof KAFKA_CONFIG_TYPE;

/** Kafka's ConfigSource numbers (DescribeConfigs v1+, CreateTopics v5+) of the sources Fjord has. */
export const KAFKA_CONFIG_SOURCE = { DYNAMIC_TOPIC_CONFIG: 1, DYNAMIC_BROKER_CONFIG: 2, DYNAMIC_DEFAULT_BROKER_CONFIG: 3, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;

const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** How a setting's value is written as text (flags, environment, Kafka configs) and read back. */
export interface ValueType<T> {
  readonly kafkaType: KafkaConfigType;
  /** The type and accepted values in a few words, for help and docs: "int 1..100000", "delete | compact". */
  readonly shape: string;
  /** The word after a flag in help: --port <n>. */
  readonly placeholder: string;
  /** The value of `text`, or an Error whose message starts with `name` (a flag, variable or key). */
  parse(text: string, name: string): T;
  /** Kafka's text of a value (DescribeConfigs). */
  format(value: T): string;
  /** The text of a value as a person types it on the command line, when it differs (on/off). */
  flagText?(value: T): string;
}

function integer(kafkaType: 'INT' | 'LONG', low: bigint, high: bigint, opts: { min?: number; max?: number; unit?: string }): ValueType<number> {
  const min = opts.min === undefined ? low : BigInt(opts.min);
  const max = opts.max === undefined ? high : BigInt(opts.max);
  const bounded = max !== high ? ` ${min}..${max}` : min !== low ? ` ≥ ${min}` : '';
  // The message names the bound that was crossed: an int's upper one only when it was exceeded.
  const allowed = (n: bigint | null) =>
    max !== high || (n !== null && n > max) ? (min !== low ? ` from ${min} to ${max}` : ` of at most ${max}`) : min !== low ? ` of at least ${min}` : '';
  return {
    kafkaType,
    shape: `${kafkaType === 'INT' ? 'int' : 'long'}${bounded}${opts.unit ? `, ${opts.unit}` : ''}`,
    placeholder: opts.unit ?? 'n',
    parse(text, name) {
      // BigInt keeps longs exact for the range check; the value itself fits a double in practice.
      const n = /^-?\d+$/.test(text) ? BigInt(text) : null;
      if (n === null || n < min || n > max) throw new Error(`${name} must be an integer${allowed(n)}, not "${text}"`);
      return Number(n);
    },
    // Long.MAX_VALUE is 2^63 as a double; it is written back as Kafka writes it.
    format: (value) => (value >= 2 ** 63 ? String(INT64_MAX) : String(value)),
  };
}

/** A 32-bit integer (Kafka's INT). */
export const int = (opts: { min?: number; max?: number; unit?: string } = {}) => integer('INT', BigInt(INT32_MIN), BigInt(INT32_MAX), opts);
/** A 64-bit integer (Kafka's LONG); durations in ms are longs in Kafka. */
export const long = (opts: { min?: number; max?: number; unit?: string } = {}) => integer('LONG', INT64_MIN, INT64_MAX, opts);

/** Kafka's Long.MAX_VALUE ("no bound") as a number: 2^63, written back as 9223372036854775807. */
export const LONG_MAX = 2 ** 63;
const LONG_MAX_TEXT = String(INT64_MAX);

/** compression.type's values (broker and topic). */
export const COMPRESSION_TYPES = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'] as const;

/** A floating-point number (Kafka's DOUBLE), plain decimal or exponent notation, within [min, max]. */
export const double = (opts: { min?: number; max?: number } = {}): ValueType<number> => {
  const min = opts.min ?? -Number.MAX_VALUE;
  const max = opts.max ?? Number.MAX_VALUE;
  const range = opts.max !== undefined ? ` ${min}..${max}` : opts.min !== undefined ? ` ≥ ${min}` : '';
  return {
    kafkaType: 'DOUBLE',
    shape: `double${range}`,
    placeholder: 'x',
    parse(text, name) {
      const n = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text.trim()) ? Number(text) : NaN;
      if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name} must be a number${range ? ` from ${min} to ${max}`.replace(` to ${Number.MAX_VALUE}`, '') : ''}, not "${text}"`);
      return n;
    },
    format: (value) => String(value),
  };
};

/** The longest delay a Node timer takes (2^31-1 ms, ~24.8 days); a longer one fires after 1 ms. */
const TIMER_MAX_MS = INT32_MAX;

/** Kafka's boolean: true or false (any case). */
export const bool = (): ValueType<boolean> => ({
  kafkaType: 'BOOLEAN',
  shape: 'true | false',
  placeholder: 'true|false',
  parse(text, name) {
    const t = text.toLowerCase();
    if (t === 'true' || t === 'false') return t === 'true';
    throw new Error(`${name} must be true or false, not "${text}"`);
  },
  format: (value) => String(value),
});

/** A switch as people type it on a command line: on/off, true/false, yes/no, 1/0. */
export const onOff = (): ValueType<boolean> => ({
  kafkaType: 'BOOLEAN',
  shape: 'on | off',
  placeholder: 'on|off',
  parse(text, name) {
    const t = text.toLowerCase();
    if (['on', 'true', '1', 'yes'].includes(t)) return true;
    if (['off', 'false', '0', 'no'].includes(t)) return false;
    throw new Error(`${name} must be on or off, not "${text}"`);
  },
  format: (value) => String(value),
  flagText: (value) => (value ? 'on' : 'off'),
});

export const text = (shape = 'string', placeholder = shape): ValueType<string> => ({
  kafkaType: 'STRING',
  shape,
  placeholder,
  parse: (value) => value,
  format: (value) => value,
});

/** One of a fixed set of words. */
export function oneOf<const V extends string>(values: readonly V[]): ValueType<V> {
  const shape = values.join(' | ');
  return {
    kafkaType: 'STRING',
    shape,
    placeholder: values.join('|'),
    parse(value, name) {
      const found = values.find((v) => v === value);
      if (found === undefined) throw new Error(`${name} must be one of ${values.join(', ')}, not "${value}"`);
      return found;
    },
    format: (value) => value,
  };
}

/**
 * A comma-separated list; with `values`, every item must be one of them. There must be one item,
 * unless `allowEmpty` (then "" is the empty list).
 */
export function list(values?: readonly string[], placeholder = 'a[,b...]', allowEmpty = false): ValueType<string[]> {
  return {
    kafkaType: 'LIST',
    shape: values ? `list of ${values.join(', ')}` : 'list',
    placeholder,
    parse(value, name) {
      const items = value.split(',').map((v) => v.trim()).filter(Boolean);
      if (allowEmpty && items.length === 0) return items;
      if (values && (items.length === 0 || items.some((i) => !values.includes(i)))) {
        throw new Error(`${name} must be a comma-separated list of ${values.join(', ')}, not "${value}"`);
      }
      if (items.length === 0) throw new Error(`${name} must not be empty`);
      return items;
    },
    format: (value) => value.join(','),
  };
}

/** --flush: always | os | <ms>. */
export const flushMode = (): ValueType<BrokerConfig['flush']> => ({
  kafkaType: 'STRING',
  shape: 'always | os | ms',
  placeholder: 'always|os|ms',
  parse(value, name) {
    if (value === 'always' || value === 'os') return value;
    const ms = /^\d+$/.test(value) ? Number(value) : 0;
    if (!(ms > 0 && ms <= INT32_MAX)) throw new Error(`${name} must be always, os or a positive number of ms, not "${value}"`);
    return ms;
  },
  format: (value) => String(value),
});

/** A list of Kafka endpoints, NAME://host:port (listeners, advertised.listeners). */
export const endpointList = (what: string): ValueType<string[]> => ({
  kafkaType: 'LIST',
  shape: 'list of NAME://host:port',
  placeholder: 'NAME://host:port[,...]',
  parse(value, name) {
    const items = value.split(',').map((v) => v.trim()).filter(Boolean);
    if (items.length === 0) throw new Error(`${name} must not be empty`);
    for (const item of items) {
      try {
        parseEndpoint(item, what);
      } catch (err) {
        throw new Error(`${name}: ${(err as Error).message}`);
      }
    }
    return items;
  },
  format: (value) => value.join(','),
});

/** listener.security.protocol.map: NAME:PROTOCOL items. */
export const protocolMap = (): ValueType<string[]> => ({
  kafkaType: 'LIST',
  shape: `list of NAME:${SECURITY_PROTOCOLS.join('|')}`,
  placeholder: 'NAME:PROTOCOL[,...]',
  parse(value, name) {
    const items = value.split(',').map((v) => v.trim()).filter(Boolean);
    const bad = items.find((i) => !/^[A-Za-z0-9_-]+:[A-Za-z_]+$/.test(i) || !SECURITY_PROTOCOLS.some((p) => p === i.split(':')[1].toUpperCase()));
    if (items.length === 0 || bad !== undefined) throw new Error(`${name} must be NAME:PROTOCOL items with PROTOCOL one of ${SECURITY_PROTOCOLS.join(', ')}, not "${bad ?? value}"`);
    return items;
  },
  format: (value) => value.join(','),
});

/** ssl.principal.mapping.rules, checked when read. */
export const principalRules = (): ValueType<string> => ({
  kafkaType: 'STRING',
  shape: 'DEFAULT | RULE:pattern/replacement/[LU], ...',
  placeholder: 'rules',
  parse(value, name) {
    try {
      parsePrincipalRules(value);
    } catch (err) {
      throw new Error(`${name}: ${(err as Error).message}`);
    }
    return value;
  },
  format: (value) => value,
});

/** The settings a listener may override, by their Kafka names (after `listener.name.<name>.`): its ssl ones and its SASL mechanisms. */
export const LISTENER_SSL_KEYS = {
  'ssl.keystore.location': 'sslKeystoreLocation',
  'ssl.keystore.key': 'sslKeystoreKey',
  'ssl.keystore.certificate.chain': 'sslKeystoreCertificateChain',
  'ssl.key.password': 'sslKeyPassword',
  'ssl.truststore.location': 'sslTruststoreLocation',
  'ssl.truststore.certificates': 'sslTruststoreCertificates',
  'ssl.client.auth': 'sslClientAuth',
  'ssl.principal.mapping.rules': 'sslPrincipalMappingRules',
  'sasl.enabled.mechanisms': 'saslEnabledMechanisms',
} as const satisfies Record<string, keyof ListenerSslOverrides>;

/** Splits `listener.name.<name>.<setting>` into the upper-case listener name and the setting, or null. */
export function listenerPrefixed(property: string): { listener: string; setting: string } | null {
  const m = /^listener\.name\.([A-Za-z0-9_-]+)\.(.+)$/.exec(property);
  return m ? { listener: m[1].toUpperCase(), setting: m[2] } : null;
}

/**
 * Sets one per-listener ssl setting into `overrides`, checked by its row's type. Throws an Error
 * naming `name` when the value is bad, or when the setting cannot be set per listener.
 */
export function setListenerSsl(overrides: Record<string, ListenerSslOverrides>, listener: string, setting: string, value: string, name: string): void {
  const key = Object.hasOwn(LISTENER_SSL_KEYS, setting) ? LISTENER_SSL_KEYS[setting as keyof typeof LISTENER_SSL_KEYS] : undefined;
  if (key === undefined) throw new Error(`${name}: ${setting} cannot be set per listener (these can: ${Object.keys(LISTENER_SSL_KEYS).join(', ')})`);
  const row = overrides[listener] ?? (overrides[listener] = {});
  parseBrokerSetting(row, key, value, name);
}

/** --listener-ssl: `listener.name.<name>.ssl.<setting>=<value>` items separated by ";". */
export const listenerSslType = (): ValueType<Record<string, ListenerSslOverrides>> => ({
  kafkaType: 'STRING',
  shape: 'listener.name.NAME.ssl.*=value; ...',
  placeholder: 'listener.name.N.ssl.x=v[;...]',
  parse(value, name) {
    const overrides: Record<string, ListenerSslOverrides> = {};
    for (const item of value.split(';').map((v) => v.trim()).filter(Boolean)) {
      const eq = item.indexOf('=');
      const prefixed = eq > 0 ? listenerPrefixed(item.slice(0, eq).trim()) : null;
      if (!prefixed) throw new Error(`${name}: "${item}" is not listener.name.<listener>.<setting>=<value>`);
      setListenerSsl(overrides, prefixed.listener, prefixed.setting, item.slice(eq + 1).trim(), name);
    }
    return overrides;
  },
  format: (value) => Object.entries(value).flatMap(([listener, o]) => Object.entries(LISTENER_SSL_KEYS)
    .filter(([, key]) => o[key] !== undefined).map(([setting, key]) => `listener.name.${listener.toLowerCase()}.${setting}=${String(o[key])}`)).join(';'),
});

/** --add-scram: Kafka's `kafka-storage format --add-scram` syntax (auth/add-scram.ts). */
export const scramUsers = (): ValueType<ScramUserSpec[]> => ({
  kafkaType: 'STRING',
  shape: 'MECHANISM=[name=..,password=..][;...]',
  placeholder: 'SCRAM-SHA-256=[name=u,password=p]',
  parse: (value, name) => parseAddScram(value, name),
  format: (value) => formatAddScram(value),
});

/** authorizer.class.name: Kafka's authorizer classes or `fjord` turn ACLs on; '' leaves them off. */
export const authorizerName = (): ValueType<string> => ({
  kafkaType: 'STRING',
  shape: `'' | ${AUTHORIZER_NAMES.join(' | ')}`,
  placeholder: 'fjord',
  parse(value, name) {
    const v = value.trim();
    if (v !== '' && !AUTHORIZER_NAMES.some((n) => n === v)) throw new Error(`${name} must be one of ${AUTHORIZER_NAMES.join(', ')} (or empty: no authorization), not "${value}"`);
    return v;
  },
  format: (value) => value,
});

/** super.users: principals separated by ; (User:admin;User:ops). */
export const principalList = (): ValueType<string[]> => ({
  kafkaType: 'STRING',
  shape: 'User:a;User:b',
  placeholder: 'User:a;User:b',
  parse(value, name) {
    const items = value.split(';').map((v) => v.trim()).filter(Boolean);
    const bad = items.find((i) => !validPrincipal(i));
    if (bad !== undefined) throw new Error(`${name} must be principals separated by ; (User:alice;User:bob), not "${bad}"`);
    return items;
  },
  format: (value) => value.join(';'),
});

export type Scope = 'broker' | 'group' | 'topic';

/** One broker setting: a key of BrokerConfig. */
export interface BrokerSetting<K extends keyof BrokerConfig> {
  /** Kafka's name; absent where Kafka has no such setting (e.g. the storage engine). */
  readonly kafka?: string;
  /** Another name Kafka reports the same value under (broker.id for node.id). */
  readonly kafkaAlias?: string;
  /** The `fjord server` flag without its dashes; the environment variable is derived from it. */
  readonly flag: string;
  readonly type: ValueType<NonNullable<BrokerConfig[K]>>;
  readonly default: BrokerConfig[K];
  /** What the default is when it is worked out at start (advertised host and port). */
  readonly defaultText?: string;
  /** A value of the setting (as format() writes it back) for tests, where the default is none or empty. */
  readonly example?: string;
  readonly scope: Exclude<Scope, 'topic'>;
  readonly description: string;
  /** A secret (a private key, a password): DescribeConfigs reports it as sensitive, without its value. */
  readonly sensitive?: true;
  /**
   * Changed while running by Incremental/AlterConfigs on the broker resource (Kafka's dynamic broker
   * configs, src/broker/dynamic-configs.ts): set only where the code reads the value at each use.
   */
  readonly dynamic?: true;
}

/** Every key of BrokerConfig, optional ones included. */
export type BrokerSettingKey = keyof { [K in keyof BrokerConfig]-?: true };
// Mapped over the key union (not `keyof BrokerConfig` directly) so BROKER_SETTINGS[k] keeps k's own
// setting type inside generic functions; every key must still have a row.
export type BrokerSettingTable = { readonly [K in BrokerSettingKey]: BrokerSetting<K> };

const PORT = { min: 0, max: 65535 };
/** The HTTP listener's port under `fjord server` (SERVER_DEFAULTS). */
export const SERVER_HTTP_PORT = 9080;

/** --http-port: a port (0: a free one), or none / -1 for no HTTP listener (-1 is how none is kept). */
export const httpPort = (): ValueType<number> => ({
  kafkaType: 'INT',
  shape: 'int 0..65535 | none',
  placeholder: 'port|none',
  parse(value, name) {
    if (value === 'none' || value === '-1') return -1;
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!(n >= 0 && n <= 65535)) throw new Error(`${name} must be a port from 0 to 65535 or none, not "${value}"`);
    return n;
  },
  format: (value) => (value < 0 ? 'none' : String(value)),
});
/** The most partitions one topic may have (a bound on the files and memory one request can cost). */
export const MAX_PARTITIONS = 100000;

/** Every broker setting, in the order help and docs show them. The type demands a row per key. */
export const BROKER_SETTINGS: BrokerSettingTable = {
  port: { flag: 'port', type: int(PORT), default: 9092, scope: 'broker', description: 'TCP port to listen on; 0 picks a free one' },
  listenHosts: { flag: 'host', type: list(undefined, 'h[,h...]'), default: ['127.0.0.1', '::1'], scope: 'broker', description: 'hosts to listen on (both loopbacks by default: some clients resolve localhost to ::1)' },
  advertisedHost: { flag: 'advertised-host', type: text('string', 'host'), default: undefined, defaultText: 'first listen host', scope: 'broker', description: 'host clients are told to connect to (Metadata, FindCoordinator)' },
  advertisedPort: { flag: 'advertised-port', type: int(PORT), default: undefined, defaultText: 'bound port', scope: 'broker', description: 'port clients are told to connect to' },
  dataDir: { flag: 'data-dir', type: text('path | file:path | memory', 'path|memory'), default: './data', scope: 'broker', description: 'storage: a folder for the file engine (also `file:<path>`), or `memory` for the in-memory engine (nothing is kept)' },
  storage: { flag: 'storage', type: text('url', 'url'), default: undefined, defaultText: '--data-dir', example: 'postgres://fjord:***@db.example:5432/fjord', scope: 'broker', sensitive: true, description: 'storage as a URL, in place of --data-dir: postgres://user:password@host:port/database (the PostgreSQL engine, docs/cluster.md; `?schema=name` keeps Fjord\'s tables in that schema), file:<path> or memory:. Never shown with its password' },
  nodeId: { kafka: 'node.id', kafkaAlias: 'broker.id', flag: 'node-id', type: int({ min: -1 }), default: 1, scope: 'broker', description: 'id of this broker in Metadata. One node: it is the controller and every leader. On PostgreSQL (docs/cluster.md) each broker of a database needs its own id; -1 takes the lowest id no live broker holds (PostgreSQL only)' },
  rack: { kafka: 'broker.rack', flag: 'rack', type: text('string', 'rack'), default: undefined, defaultText: 'none', scope: 'broker', description: 'rack of this broker, reported in Metadata and DescribeCluster (leaders are not placed by rack)' },
  clusterHeartbeatMs: { flag: 'cluster-heartbeat-ms', type: int({ min: 100, max: 60000, unit: 'ms' }), default: 2000, scope: 'broker', description: 'PostgreSQL cluster mode: how often a broker renews its lease in fjord_brokers' },
  clusterLeaseMs: { flag: 'cluster-lease-ms', type: int({ min: 500, max: 600000, unit: 'ms' }), default: 6000, scope: 'broker', description: 'PostgreSQL cluster mode: a broker that has not renewed its lease for this long is gone: its partitions move to the live brokers (must exceed the heartbeat)' },
  clusterPollMs: { flag: 'cluster-poll-ms', type: int({ min: 50, max: 60000, unit: 'ms' }), default: 500, scope: 'broker', description: 'PostgreSQL cluster mode: how often a broker reads membership, leaders and catalog changes from the database (and runs the leader assignment if no other broker is)' },
  defaultPartitions: { kafka: 'num.partitions', flag: 'partitions', type: int({ min: 1, max: MAX_PARTITIONS }), default: 1, scope: 'broker', description: 'partitions of auto-created topics and of CreateTopics asking for -1' },
  // Partitions no longer hold a file each (segment files share one pool, --max-open-files), so
  // this bounds memory and start-up time instead: see docs/limits.md for the figures per partition.
  maxPartitions: { flag: 'max-partitions', type: int({ min: 1 }), default: 10000, scope: 'broker', description: 'most partitions of all topics together (internal logs not counted); CreateTopics and CreatePartitions past it get POLICY_VIOLATION and auto-creation does not create' },
  // Kafka has no such setting (it keeps every segment of every partition open and asks for a
  // large ulimit instead). Fjord's pool keeps the open files bounded whatever the partition count.
  maxOpenFiles: { flag: 'max-open-files', type: int({ min: 1 }), default: undefined, defaultText: '1024, or a quarter of ulimit -n when lower', scope: 'broker', description: 'segment files the file engine keeps open, all partitions together; past it the least recently used file nobody is reading or writing is closed (and reopened at its next use). Connections and short-lived files come on top: keep it well below the open-files limit (ulimit -n)' },
  autoCreateTopics: { kafka: 'auto.create.topics.enable', flag: 'auto-create', type: onOff(), default: true, scope: 'broker', description: 'create unknown topics on first use (Metadata, Produce)' },
  flush: { flag: 'flush', type: flushMode(), default: 'always', scope: 'broker', description: 'always: acks=all is answered after fsync; os: leave it to the OS; a number: fsync every so many ms' },
  segmentBytes: { kafka: 'log.segment.bytes', flag: 'log-segment-bytes', type: int({ min: 14, unit: 'bytes' }), default: 1024 * 1024 * 1024, scope: 'broker', description: 'default segment.bytes of topics: size at which a log segment rolls to a new file' },
  rollMs: { kafka: 'log.roll.ms', flag: 'log-roll-ms', type: long({ min: 1, unit: 'ms' }), default: undefined, defaultText: 'log.roll.hours', example: '3600000', scope: 'broker', description: 'default segment.ms of topics: a segment older than this rolls at the next append' },
  rollHours: { kafka: 'log.roll.hours', flag: 'log-roll-hours', type: int({ min: 1, unit: 'hours' }), default: 168, scope: 'broker', description: 'log.roll.ms in hours, when log.roll.ms is not set' },
  rollJitterMs: { kafka: 'log.roll.jitter.ms', flag: 'log-roll-jitter-ms', type: long({ min: 0, unit: 'ms' }), default: undefined, defaultText: 'log.roll.jitter.hours', example: '1000', scope: 'broker', description: 'default segment.jitter.ms of topics: each segment rolls up to this much (random) before segment.ms' },
  rollJitterHours: { kafka: 'log.roll.jitter.hours', flag: 'log-roll-jitter-hours', type: int({ min: 0, unit: 'hours' }), default: 0, scope: 'broker', description: 'log.roll.jitter.ms in hours, when log.roll.jitter.ms is not set' },
  segmentIndexBytes: { kafka: 'log.index.size.max.bytes', flag: 'log-index-size-max-bytes', type: int({ min: 4, unit: 'bytes' }), default: 10 * 1024 * 1024, scope: 'broker', description: 'default segment.index.bytes of topics: a segment whose offset index (8 bytes an entry) or time index (12) would pass this rolls' },
  indexIntervalBytes: { kafka: 'log.index.interval.bytes', flag: 'log-index-interval-bytes', type: int({ min: 0, unit: 'bytes' }), default: 4096, scope: 'broker', description: 'default index.interval.bytes of topics: bytes between two offset index entries' },
  segmentDeleteDelayMs: { kafka: 'log.segment.delete.delay.ms', flag: 'log-segment-delete-delay-ms', type: long({ min: 0, max: TIMER_MAX_MS, unit: 'ms' }), default: 60000, scope: 'broker', description: 'default file.delete.delay.ms of topics: how long the files of a segment retention or DeleteRecords removed stay on disk (as name.deleted) before they are deleted' },
  retentionMs: { kafka: 'log.retention.ms', flag: 'log-retention-ms', type: long({ min: -1, unit: 'ms' }), default: undefined, defaultText: 'log.retention.minutes', example: '86400000', scope: 'broker', description: 'default retention.ms of topics: records older than this are deleted; -1 keeps them' },
  retentionMinutes: { kafka: 'log.retention.minutes', flag: 'log-retention-minutes', type: int({ min: -1, unit: 'minutes' }), default: undefined, defaultText: 'log.retention.hours', example: '1440', scope: 'broker', description: 'log.retention.ms in minutes, when log.retention.ms is not set' },
  retentionHours: { kafka: 'log.retention.hours', flag: 'log-retention-hours', type: int({ min: -1, unit: 'hours' }), default: 168, scope: 'broker', description: 'log.retention.ms in hours, when neither log.retention.ms nor log.retention.minutes is set' },
  retentionBytes: { kafka: 'log.retention.bytes', flag: 'log-retention-bytes', type: long({ min: -1, unit: 'bytes' }), default: -1, example: '1073741824', scope: 'broker', description: 'default retention.bytes of topics: a partition larger than this loses its oldest whole segments; -1: no bound' },
  messageTimestampType: { kafka: 'log.message.timestamp.type', flag: 'log-message-timestamp-type', type: oneOf(['CreateTime', 'LogAppendTime']), default: 'CreateTime', scope: 'broker', description: 'default message.timestamp.type of topics' },
  messageTimestampBeforeMaxMs: { kafka: 'log.message.timestamp.before.max.ms', flag: 'log-message-timestamp-before-max-ms', type: long({ min: 0, unit: 'ms' }), default: LONG_MAX, scope: 'broker', description: 'default message.timestamp.before.max.ms of topics' },
  messageTimestampAfterMaxMs: { kafka: 'log.message.timestamp.after.max.ms', flag: 'log-message-timestamp-after-max-ms', type: long({ min: 0, unit: 'ms' }), default: 3600000, scope: 'broker', description: 'default message.timestamp.after.max.ms of topics' },
  minInsyncReplicas: { kafka: 'min.insync.replicas', flag: 'min-insync-replicas', type: int({ min: 1 }), default: 1, scope: 'broker', description: 'default min.insync.replicas of topics (one node: above 1, acks=all produces fail with NOT_ENOUGH_REPLICAS)' },
  compressionType: { kafka: 'compression.type', flag: 'compression-type', type: oneOf(COMPRESSION_TYPES), default: 'producer', scope: 'broker', description: 'default compression.type of topics' },
  retentionCheckIntervalMs: { kafka: 'log.retention.check.interval.ms', flag: 'log-retention-check-interval-ms', type: long({ min: 0, max: TIMER_MAX_MS, unit: 'ms' }), default: 5 * 60 * 1000, scope: 'broker', description: 'how often retention runs; 0 turns time-based retention off' },
  // Compaction (cleanup.policy=compact, src/broker/log-cleaner.ts, docs/compaction.md).
  logCleanerBackoffMs: { kafka: 'log.cleaner.backoff.ms', flag: 'log-cleaner-backoff-ms', type: long({ min: 1, max: TIMER_MAX_MS, unit: 'ms' }), default: 15000, scope: 'broker', dynamic: true, description: 'how often the log cleaner looks for compacted partitions with enough to clean' },
  logCleanerDedupeBufferSize: { kafka: 'log.cleaner.dedupe.buffer.size', flag: 'log-cleaner-dedupe-buffer-size', type: long({ min: 1024, unit: 'bytes' }), default: 128 * 1024 * 1024, scope: 'broker', dynamic: true, description: 'memory of the cleaner\'s offset map, 24 bytes a key (allocated per pass, only as large as the dirty records need); when the keys of the dirty section do not fit, a pass cleans a prefix of it' },
  logCleanerIoMaxBytesPerSecond: { kafka: 'log.cleaner.io.max.bytes.per.second', flag: 'log-cleaner-io-max-bytes-per-second', type: double({ min: 1 }), default: Number.MAX_VALUE, defaultText: 'no bound', scope: 'broker', dynamic: true, description: 'bytes per second the cleaner reads and writes together, on average' },
  logCleanerThreads: { kafka: 'log.cleaner.threads', flag: 'log-cleaner-threads', type: int({ min: 1, max: 1 }), default: 1, scope: 'broker', dynamic: true, description: 'cleaner threads: one (the cleaner is one task; other values are refused)' },
  maxRequestBytes: { kafka: 'socket.request.max.bytes', flag: 'socket-request-max-bytes', type: int({ min: 1, unit: 'bytes' }), default: 100 * 1024 * 1024, scope: 'broker', description: 'largest request frame; a larger one closes the connection' },
  // Kafka's default is -1 (no bound). Fjord's 256 MiB: two frames of the default socket.request.max.bytes
  // still fit with room for many ordinary ones, while 100 clients each sitting on a 20 MiB frame can
  // no longer take gigabytes (a broker handling more has to be told so).
  telemetryMaxBytes: { kafka: 'telemetry.max.bytes', flag: 'telemetry-max-bytes', type: int({ min: 1, unit: 'bytes' }), default: 1024 * 1024, scope: 'broker', description: 'the largest metrics payload a client may push (PushTelemetry, KIP-714; larger: TELEMETRY_TOO_LARGE); the latest payload of each client instance is kept, at most 1024 instances (the oldest pushed is dropped first)' },
  queuedMaxRequestBytes: { kafka: 'queued.max.request.bytes', flag: 'queued-max-request-bytes', type: long({ min: -1, unit: 'bytes' }), default: 256 * 1024 * 1024, scope: 'broker', description: 'bytes of requests being received or handled, all connections together; above it the broker stops reading sockets until requests finish (a frame is counted in full once its size is read; a frame larger than the budget is read alone); -1: no bound' },
  connectionsMaxIdleMs: { kafka: 'connections.max.idle.ms', flag: 'connections-max-idle-ms', type: long({ min: -1, max: TIMER_MAX_MS, unit: 'ms' }), default: 10 * 60 * 1000, scope: 'broker', description: 'a connection that sent nothing and was sent nothing this long (with no request in progress), or that started a frame this long ago and has not finished it, is closed; -1: never' },
  fetchMaxBytes: { kafka: 'fetch.max.bytes', flag: 'fetch-max-bytes', type: int({ min: 1024, unit: 'bytes' }), default: 55 * 1024 * 1024, scope: 'broker', description: 'most record bytes in one Fetch response, whatever the client asks (the first batch still goes out whole, as in Kafka)' },
  tailCacheBytes: { flag: 'tail-cache-bytes', type: long({ min: 0, unit: 'bytes' }), default: 64 * 1024 * 1024, scope: 'broker', description: 'memory the file engine keeps of the newest appends for tailing consumers, all partitions together (at most 4 MiB per partition); 0: none' },
  maxMessageBytes: { kafka: 'message.max.bytes', flag: 'message-max-bytes', type: int({ min: 0, unit: 'bytes' }), default: 1024 * 1024 + 12, scope: 'broker', description: 'default max.message.bytes of topics: the largest record batch accepted' },
  groupInitialRebalanceDelayMs: { kafka: 'group.initial.rebalance.delay.ms', flag: 'group-initial-rebalance-delay-ms', type: int({ min: 0, unit: 'ms' }), default: 3000, scope: 'group', description: 'how long a new classic group waits for more members before its first rebalance' },
  groupMinSessionTimeoutMs: { kafka: 'group.min.session.timeout.ms', flag: 'group-min-session-timeout-ms', type: int({ min: 0, unit: 'ms' }), default: 6000, scope: 'group', description: 'smallest session timeout a classic group member may ask for' },
  groupMaxSessionTimeoutMs: { kafka: 'group.max.session.timeout.ms', flag: 'group-max-session-timeout-ms', type: int({ min: 0, unit: 'ms' }), default: 1800000, scope: 'group', description: 'largest session timeout a classic group member may ask for' },
  offsetsRetentionMinutes: { kafka: 'offsets.retention.minutes', flag: 'offsets-retention-minutes', type: int({ min: 1, unit: 'minutes' }), default: 7 * 24 * 60, scope: 'group', description: 'committed offsets of a group that has been empty this long are deleted' },
  offsetsRetentionCheckIntervalMs: { kafka: 'offsets.retention.check.interval.ms', flag: 'offsets-retention-check-interval-ms', type: long({ min: 1, max: TIMER_MAX_MS, unit: 'ms' }), default: 10 * 60 * 1000, scope: 'group', description: 'how often expired group offsets are looked for' },
  groupConsumerSessionTimeoutMs: { kafka: 'group.consumer.session.timeout.ms', flag: 'group-consumer-session-timeout-ms', type: int({ min: 1, unit: 'ms' }), default: 45000, scope: 'group', description: 'session timeout of KIP-848 consumer-group members' },
  groupConsumerHeartbeatIntervalMs: { kafka: 'group.consumer.heartbeat.interval.ms', flag: 'group-consumer-heartbeat-interval-ms', type: int({ min: 1, unit: 'ms' }), default: 5000, scope: 'group', description: 'heartbeat interval told to KIP-848 consumer-group members' },
  // Share groups (KIP-932, src/broker/share/, docs/share-groups.md).
  groupShareHeartbeatIntervalMs: { kafka: 'group.share.heartbeat.interval.ms', flag: 'group-share-heartbeat-interval-ms', type: int({ min: 1, unit: 'ms' }), default: 5000, scope: 'group', description: 'heartbeat interval told to share-group members' },
  groupShareSessionTimeoutMs: { kafka: 'group.share.session.timeout.ms', flag: 'group-share-session-timeout-ms', type: int({ min: 1, unit: 'ms' }), default: 45000, scope: 'group', description: 'a share-group member that sends no heartbeat this long is removed (its acquired records become available)' },
  groupShareMaxSize: { kafka: 'group.share.max.size', flag: 'group-share-max-size', type: int({ min: 1, max: 1000 }), default: 200, scope: 'group', description: 'members a share group may have (one more joining: GROUP_MAX_SIZE_REACHED)' },
  groupShareRecordLockDurationMs: { kafka: 'group.share.record.lock.duration.ms', flag: 'group-share-record-lock-duration-ms', type: int({ min: 1000, max: 3600000, unit: 'ms' }), default: 30000, scope: 'group', description: 'how long a record handed to a share consumer stays locked to it; unacknowledged by then, it is available again' },
  groupShareDeliveryCountLimit: { kafka: 'group.share.delivery.count.limit', flag: 'group-share-delivery-count-limit', type: int({ min: 2, max: 10 }), default: 5, scope: 'group', description: 'deliveries of one record to a share group; released or timed out after the last, it is archived (never delivered again)' },
  groupSharePartitionMaxRecordLocks: { kafka: 'group.share.partition.max.record.locks', flag: 'group-share-partition-max-record-locks', type: int({ min: 100, max: 10000 }), default: 2000, scope: 'group', description: 'records in flight (handed out and not yet finished) per share-partition; past it nothing new is handed out until the oldest are acknowledged' },
  transactionMaxTimeoutMs: { kafka: 'transaction.max.timeout.ms', flag: 'transaction-max-timeout-ms', type: int({ min: 1, unit: 'ms' }), default: 900000, scope: 'broker', description: 'largest transaction.timeout.ms a transactional producer may ask for (InitProducerId past it: INVALID_TRANSACTION_TIMEOUT)' },
  transactionAbortCheckIntervalMs: { kafka: 'transaction.abort.timed.out.transaction.cleanup.interval.ms', flag: 'transaction-abort-check-interval-ms', type: int({ min: 1, unit: 'ms' }), default: 10000, scope: 'broker', description: 'how often transactions open past their timeout are looked for (and aborted with an epoch bump)' },
  listeners: { kafka: 'listeners', flag: 'listeners', type: endpointList('listener'), default: undefined, defaultText: 'one PLAINTEXT listener on --host and --port', scope: 'broker', description: 'named listeners, NAME://host:port (empty host: every interface; IPv6 in brackets); the protocol is the name, or the one listener.security.protocol.map gives it. Replaces --host/--port' },
  advertisedListeners: { kafka: 'advertised.listeners', flag: 'advertised-listeners', type: endpointList('advertised listener'), default: undefined, defaultText: 'each listener\'s own address', scope: 'broker', description: 'address clients are told per listener (Metadata, FindCoordinator, DescribeCluster answer with the one of the listener they came in through)' },
  listenerSecurityProtocolMap: { kafka: 'listener.security.protocol.map', flag: 'listener-security-protocol-map', type: protocolMap(), default: undefined, defaultText: 'protocols by their own name', scope: 'broker', description: 'security protocol of each listener name (e.g. INTERNAL:PLAINTEXT,EXTERNAL:SSL); names that are protocols need no entry' },
  allowUnauthenticatedNetwork: { flag: 'allow-unauthenticated-network', type: onOff(), default: false, scope: 'broker', description: 'let a listener that does not authenticate clients (PLAINTEXT, SSL without ssl.client.auth=required) listen on a non-loopback address; without it the broker refuses to start so' },
  sslKeystoreType: { kafka: 'ssl.keystore.type', flag: 'ssl-keystore-type', type: oneOf(['PEM']), default: 'PEM', scope: 'broker', description: 'format of the key and certificates of SSL listeners: PEM only' },
  sslKeystoreLocation: { kafka: 'ssl.keystore.location', flag: 'ssl-keystore-location', type: text('path'), default: undefined, scope: 'broker', description: 'PEM file holding the private key and certificate chain of SSL listeners (re-read every --ssl-reload-interval-ms)' },
  sslKeystoreKey: { kafka: 'ssl.keystore.key', flag: 'ssl-keystore-key', type: text('PEM', 'pem'), default: undefined, scope: 'broker', sensitive: true, description: 'the private key as inline PEM (with ssl.keystore.certificate.chain, instead of ssl.keystore.location)' },
  sslKeystoreCertificateChain: { kafka: 'ssl.keystore.certificate.chain', flag: 'ssl-keystore-certificate-chain', type: text('PEM', 'pem'), default: undefined, scope: 'broker', description: 'the certificate chain as inline PEM' },
  sslKeyPassword: { kafka: 'ssl.key.password', flag: 'ssl-key-password', type: text('string', 'password'), default: undefined, scope: 'broker', sensitive: true, description: 'passphrase of an encrypted private key' },
  sslTruststoreType: { kafka: 'ssl.truststore.type', flag: 'ssl-truststore-type', type: oneOf(['PEM']), default: 'PEM', scope: 'broker', description: 'format of the CA certificates: PEM only' },
  sslTruststoreLocation: { kafka: 'ssl.truststore.location', flag: 'ssl-truststore-location', type: text('path'), default: undefined, scope: 'broker', description: 'PEM file of the CA certificates client certificates must chain to (mutual TLS; re-read like the keystore)' },
  sslTruststoreCertificates: { kafka: 'ssl.truststore.certificates', flag: 'ssl-truststore-certificates', type: text('PEM', 'pem'), default: undefined, scope: 'broker', description: 'the CA certificates as inline PEM' },
  sslClientAuth: { kafka: 'ssl.client.auth', flag: 'ssl-client-auth', type: oneOf(['none', 'requested', 'required']), default: 'none', scope: 'broker', description: 'mutual TLS: required refuses clients without a certificate the truststore vouches for; requested takes clients without one (as User:ANONYMOUS) but refuses a bad one' },
  sslPrincipalMappingRules: { kafka: 'ssl.principal.mapping.rules', flag: 'ssl-principal-mapping-rules', type: principalRules(), default: 'DEFAULT', scope: 'broker', description: 'how a client certificate\'s subject (RFC 2253, e.g. CN=alice,O=example) becomes the principal User:<name>; the first RULE:pattern/replacement/[LU] matching the whole subject applies, DEFAULT keeps it whole; no rule applying closes the connection' },
  sslReloadIntervalMs: { flag: 'ssl-reload-interval-ms', type: long({ min: 0, max: TIMER_MAX_MS, unit: 'ms' }), default: 30000, scope: 'broker', description: 'how often the key, certificate and truststore files are re-read; changed files that work replace the old ones for new connections (files that do not work are reported once and the old ones kept); 0: never' },
  listenerSsl: { flag: 'listener-ssl', type: listenerSslType(), default: undefined, defaultText: 'none', scope: 'broker', description: 'per-listener settings, Kafka\'s listener.name.<name>.ssl.* and listener.name.<name>.sasl.enabled.mechanisms (in a config file, one line each)' },
  saslEnabledMechanisms: { kafka: 'sasl.enabled.mechanisms', flag: 'sasl-enabled-mechanisms', type: list(SASL_MECHANISMS, 'm[,m...]', true), default: [], example: 'PLAIN,SCRAM-SHA-512', scope: 'broker', description: 'SASL mechanisms clients of SASL_PLAINTEXT and SASL_SSL listeners may authenticate with (GSSAPI is not supported; OAUTHBEARER needs sasl.oauthbearer.jwks.endpoint.url, --sasl-oauthbearer-public-key-location or --sasl-oauthbearer-unsecured-jwt); before authenticating, a connection to such a listener may only send ApiVersions, SaslHandshake and SaslAuthenticate. Users: --add-scram, `fjord users`' },
  connectionsMaxReauthMs: { kafka: 'connections.max.reauth.ms', flag: 'connections-max-reauth-ms', type: long({ min: 0, max: TIMER_MAX_MS, unit: 'ms' }), default: 0, scope: 'broker', description: 'lifetime of a SASL session (KIP-368): SaslAuthenticate v1+ tells the client, and past it the connection is closed at its next request unless it re-authenticated (as the same user); 0: sessions never expire' },
  connectionFailedAuthenticationDelayMs: { kafka: 'connection.failed.authentication.delay.ms', flag: 'connection-failed-authentication-delay-ms', type: int({ min: 0, max: 60000, unit: 'ms' }), default: 100, scope: 'broker', description: 'how long a failed SASL authentication waits before its SASL_AUTHENTICATION_FAILED answer (the connection is then closed)' },
  saslFailedAuthenticationLimit: { flag: 'sasl-failed-authentication-limit', type: int({ min: 0 }), default: 10, scope: 'broker', description: 'failed SASL authentications one client address may have in a minute before every further SaslAuthenticate from it waits sasl-failed-authentication-penalty-ms; 0: no limit' },
  saslFailedAuthenticationPenaltyMs: { flag: 'sasl-failed-authentication-penalty-ms', type: int({ min: 0, max: 60000, unit: 'ms' }), default: 5000, scope: 'broker', description: 'the wait added to each SaslAuthenticate from a client address past sasl-failed-authentication-limit' },
  saslOauthbearerJwksEndpointUrl: { kafka: 'sasl.oauthbearer.jwks.endpoint.url', flag: 'sasl-oauthbearer-jwks-endpoint-url', type: text('url'), default: undefined, example: 'https://idp.example.com/.well-known/jwks.json', scope: 'broker', description: 'OAUTHBEARER: the JWKS signed tokens are checked against: an https: (or http:) URL of the identity provider, fetched before the broker serves (it does not start without keys) and again every sasl.oauthbearer.jwks.endpoint.refresh.ms or when a token names an unknown key id; or a file: URL, re-read when the file changes. https trusts the system CAs and ssl.truststore.*' },
  saslOauthbearerJwksEndpointRefreshMs: { kafka: 'sasl.oauthbearer.jwks.endpoint.refresh.ms', flag: 'sasl-oauthbearer-jwks-endpoint-refresh-ms', type: long({ min: 1000, max: TIMER_MAX_MS, unit: 'ms' }), default: 3600000, scope: 'broker', description: 'OAUTHBEARER: how often an http(s) JWKS is fetched again (a failed fetch keeps the keys held before)' },
  saslOauthbearerJwksEndpointRetryBackoffMs: { kafka: 'sasl.oauthbearer.jwks.endpoint.retry.backoff.ms', flag: 'sasl-oauthbearer-jwks-endpoint-retry-backoff-ms', type: long({ min: 0, max: TIMER_MAX_MS, unit: 'ms' }), default: 100, scope: 'broker', description: 'OAUTHBEARER: first wait before fetching an http(s) JWKS again at start; doubles after each failure' },
  saslOauthbearerJwksEndpointRetryBackoffMaxMs: { kafka: 'sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms', flag: 'sasl-oauthbearer-jwks-endpoint-retry-backoff-max-ms', type: long({ min: 0, max: TIMER_MAX_MS, unit: 'ms' }), default: 10000, scope: 'broker', description: 'OAUTHBEARER: how long the broker keeps trying to fetch an http(s) JWKS at start before it gives up and does not start' },
  saslOauthbearerPublicKeyLocation: { flag: 'sasl-oauthbearer-public-key-location', type: text('path'), default: undefined, scope: 'broker', description: 'OAUTHBEARER: a PEM file of public keys (or certificates) signed tokens are checked against, besides or instead of the JWKS; re-read when it changes' },
  saslOauthbearerExpectedAudience: { kafka: 'sasl.oauthbearer.expected.audience', flag: 'sasl-oauthbearer-expected-audience', type: list(undefined, 'aud[,aud...]', true), default: [], example: 'kafka,fjord', scope: 'broker', description: 'OAUTHBEARER: a token\'s aud claim must hold one of these; empty: not checked' },
  saslOauthbearerExpectedIssuer: { kafka: 'sasl.oauthbearer.expected.issuer', flag: 'sasl-oauthbearer-expected-issuer', type: text('string', 'issuer'), default: undefined, scope: 'broker', description: 'OAUTHBEARER: a token\'s iss claim must be this; unset: not checked' },
  saslOauthbearerSubClaimName: { kafka: 'sasl.oauthbearer.sub.claim.name', flag: 'sasl-oauthbearer-sub-claim-name', type: text('string', 'claim'), default: 'sub', scope: 'broker', description: 'OAUTHBEARER: the token claim whose value names the principal (User:<value>)' },
  saslOauthbearerClockSkewSeconds: { kafka: 'sasl.oauthbearer.clock.skew.seconds', flag: 'sasl-oauthbearer-clock-skew-seconds', type: int({ min: 0, max: 3600, unit: 's' }), default: 30, scope: 'broker', description: 'OAUTHBEARER: leeway between the broker\'s clock and the token issuer\'s for exp, nbf and iat' },
  saslOauthbearerUnsecuredJwt: { flag: 'sasl-oauthbearer-unsecured-jwt', type: onOff(), default: false, scope: 'broker', description: 'OAUTHBEARER: also accept unsecured tokens (alg none, no signature; Kafka\'s unsecured validator, librdkafka\'s enable.sasl.oauthbearer.unsecure.jwt), so anyone can log in as anyone: development only, logged as a WARN at start' },
  quotaWindowNum: { kafka: 'quota.window.num', flag: 'quota-window-num', type: int({ min: 1, max: 1000 }), default: 11, scope: 'broker', description: 'samples a client quota\'s rate is measured over (at least num - 1 of them); a throttle is at most num × size' },
  quotaWindowSizeSeconds: { kafka: 'quota.window.size.seconds', flag: 'quota-window-size-seconds', type: int({ min: 1, max: 3600, unit: 's' }), default: 1, scope: 'broker', description: 'the length of one client quota sample (client quotas: DescribeClientQuotas / AlterClientQuotas, docs/security.md)' },
  addScram: { flag: 'add-scram', type: scramUsers(), default: undefined, defaultText: 'none', example: 'SCRAM-SHA-256=[name=alice,password=***,iterations=4096]', scope: 'broker', description: 'SCRAM users to create at start if they do not exist yet, in the syntax of kafka-storage format --add-scram: SCRAM-SHA-256=[name=alice,password=alice-secret] (or salt=,saltedpassword=,iterations=); several separated by ;' },
  authorizerClassName: { kafka: 'authorizer.class.name', flag: 'authorizer-class-name', type: authorizerName(), default: '', defaultText: 'none (no authorization)', example: 'fjord', scope: 'broker', description: 'turns authorization (ACLs) on: fjord, or Kafka\'s org.apache.kafka.metadata.authorizer.StandardAuthorizer (or kafka.security.authorizer.AclAuthorizer); empty: every client may do everything. ACLs: CreateAcls/DeleteAcls, kafka-acls, `fjord acls`' },
  superUsers: { kafka: 'super.users', flag: 'super-users', type: principalList(), default: [], example: 'User:admin', scope: 'broker', description: 'principals allowed every operation whatever the ACLs say (User:a;User:b)' },
  allowEveryoneIfNoAclFound: { kafka: 'allow.everyone.if.no.acl.found', flag: 'allow-everyone-if-no-acl-found', type: bool(), default: false, scope: 'broker', description: 'with an authorizer: a resource no ACL names is open to everyone (otherwise only super users may use it)' },
  logLevel: { flag: 'log-level', type: oneOf<LogLevel>(['debug', 'info', 'warn', 'error', 'silent']), default: 'info', scope: 'broker', description: 'least important log line written (to stderr); debug adds a line per request (API, version, client id, principal, latency)' },
  logFormat: { flag: 'log-format', type: oneOf<LogFormatSetting>(['auto', 'text', 'json']), default: 'auto', scope: 'broker', description: 'text: readable lines; json: one JSON object a line (pino: level, time, msg and fields); auto: text when stderr is a terminal, json otherwise' },
  // No Kafka name: Kafka exposes metrics over JMX. Off in embedded brokers (startBroker); fjord
  // server listens on SERVER_DEFAULTS.httpPort unless told otherwise.
  httpPort: { flag: 'http-port', type: httpPort(), default: undefined, defaultText: `${SERVER_HTTP_PORT} for fjord server, none for embedded brokers`, example: String(SERVER_HTTP_PORT), scope: 'broker', description: 'port of the HTTP listener serving /metrics (Prometheus), /health and /ready (docs/metrics.md); 0 picks a free one; none (or -1) turns it off' },
  httpHost: { flag: 'http-host', type: text('string', 'host'), default: '127.0.0.1', scope: 'broker', description: 'host the HTTP listener binds; its endpoints are read-only and unauthenticated, so a non-loopback host is logged as a WARN at start' },
  // The web console (docs/console.md): served at / of the HTTP listener, so on wherever that is.
  console: { flag: 'console', type: onOff(), default: true, scope: 'broker', description: 'serve the web console at / of the HTTP listener (docs/console.md); it reaches the broker through its own PLAINTEXT or SASL_PLAINTEXT listener, and asks for a SASL user when that listener needs one' },
  consoleReadOnly: { flag: 'console-read-only', type: onOff(), default: false, scope: 'broker', description: 'web console: refuse every change (create, delete, produce, configs, offset resets answer 403) and hide their buttons' },
  consoleMaxRecords: { flag: 'console-max-records', type: int({ min: 1, max: 10000 }), default: 500, scope: 'broker', description: 'web console: records one message-browser request returns at most' },
  consoleScanLimit: { flag: 'console-scan-limit', type: int({ min: 1, max: 10000000 }), default: 100000, scope: 'broker', description: 'web console: records a key/value search reads at most before it stops (the page says so)' },
  consoleRequestTimeoutMs: { flag: 'console-request-timeout-ms', type: int({ min: 100, max: 600000, unit: 'ms' }), default: 15000, scope: 'broker', description: 'web console: how long one call to the cluster may take (the browser then gets 504); also the time a message search may run' },
};

/**
 * Defaults `fjord server` applies over DEFAULT_CONFIG (an embedded broker keeps the table's): the
 * HTTP listener is on for the server command only.
 */
export const SERVER_DEFAULTS: Partial<BrokerConfig> = { httpPort: SERVER_HTTP_PORT };

/** The keys of BrokerConfig in table order. */
export const BROKER_SETTING_KEYS = Object.keys(BROKER_SETTINGS) as (keyof BrokerConfig)[];

/** The name of a setting in a config file: Kafka's, or fjord. and the flag with dots (--data-dir → fjord.data.dir). */
export function propertyName(key: keyof BrokerConfig): string {
  const s = BROKER_SETTINGS[key];
  return s.kafka ?? `fjord.${s.flag.replaceAll('-', '.')}`;
}

/** FJORD_ and the flag in capitals: --data-dir → FJORD_DATA_DIR. */
export function envVar(flag: string): string {
  return `FJORD_${flag.toUpperCase().replaceAll('-', '_')}`;
}

/** leader/follower.replication.throttled.replicas: '', '*', or partition:broker pairs. */
export const throttledReplicas = (): ValueType<string> => ({
  kafkaType: 'LIST',
  shape: "'' | * | partition:broker,...",
  placeholder: 'p:b[,...]',
  parse(value, name) {
    const v = value.trim();
    if (v === '' || v === '*' || v.split(',').every((i) => /^\s*\d+\s*:\s*\d+\s*$/.test(i))) return v;
    throw new Error(`${name} must be *, or [partition]:[broker] pairs separated by commas, not "${value}"`);
  },
  format: (value) => value,
});

/** Kafka broker configs whose value is fixed on a single node; DescribeConfigs reports them read-only. */
export const FIXED_BROKER_CONFIGS: Readonly<Record<string, { value: string; type: ValueType<number>; description: string }>> = {
  'default.replication.factor': { value: '1', type: int({ min: 1 }), description: 'one node, one replica' },
  'offsets.topic.replication.factor': { value: '1', type: int({ min: 1 }), description: 'one node, one replica' },
};

/** One topic setting (Kafka's name is the key). */
export interface TopicSetting {
  readonly type: ValueType<unknown>;
  /** The broker setting whose value is this setting's default... */
  readonly from?: keyof BrokerConfig;
  /** ...or several broker settings that together make it (log.retention.ms / .minutes / .hours)... */
  readonly derived?: { readonly from: readonly BrokerSettingKey[]; value(config: BrokerConfig): string };
  /** ...or the default itself, with Kafka's broker setting that would supply it (not settable here). */
  readonly default?: string;
  readonly kafkaBroker?: string;
  /** Kafka's default, where Fjord's differs. */
  readonly kafkaDefault?: string;
  /**
   * honoured: does what Kafka does; single-node: accepted, and true by construction on one node;
   * refused: only the default is accepted, any other value gets INVALID_CONFIG with `description`.
   */
  readonly support?: 'honoured' | 'single-node' | 'refused';
  readonly description: string;
}

/** The value of a broker setting given in ms, minutes or hours: the first one set wins (Kafka's rule). */
function firstSet(config: BrokerConfig, parts: readonly [BrokerSettingKey, number][]): string {
  for (const [key, scale] of parts) {
    const v = config[key];
    if (typeof v === 'number') return String(v < 0 ? -1 : v * scale);
  }
  return '';
}

const HOUR = 3600 * 1000;
const NO_TIERED = 'tiered storage (remote.storage.enable) is not supported';

/** Every topic config a topic may override, in name order (DescribeConfigs lists them so). */
export const TOPIC_SETTINGS: Readonly<Record<string, TopicSetting>> = {
  'cleanup.policy': { type: list(['delete', 'compact']), default: 'delete', kafkaBroker: 'log.cleanup.policy', support: 'honoured', description: 'delete: retention removes old records; compact: the log cleaner keeps the latest record per key (records without a key are refused); both: both (docs/compaction.md)' },
  'compression.type': { type: oneOf(COMPRESSION_TYPES), from: 'compressionType', support: 'honoured', description: 'producer: batches are stored as the producer compressed them; any other codec: batches compressed otherwise are recompressed by the broker on the way in (as Kafka does)' },
  'compression.gzip.level': { type: int({ min: -1, max: 9 }), default: '-1', kafkaBroker: 'compression.gzip.level', support: 'refused', description: 'recompression uses each codec\'s default level; only -1 is accepted' },
  'compression.lz4.level': { type: int({ min: 1, max: 17 }), default: '9', kafkaBroker: 'compression.lz4.level', support: 'refused', description: 'recompression uses each codec\'s default level; only 9 is accepted' },
  'compression.zstd.level': { type: int({ min: -131072, max: 22 }), default: '3', kafkaBroker: 'compression.zstd.level', support: 'refused', description: 'recompression uses each codec\'s default level; only 3 is accepted' },
  'file.delete.delay.ms': { type: long({ min: 0, max: TIMER_MAX_MS, unit: 'ms' }), from: 'segmentDeleteDelayMs', support: 'honoured', description: 'a segment removed by retention or DeleteRecords is renamed *.deleted and its files deleted this much later' },
  'flush.messages': { type: long({ min: 1 }), default: LONG_MAX_TEXT, kafkaBroker: 'log.flush.interval.messages', support: 'refused', description: 'fsync is broker-wide here (--flush: always, os or an interval); per-topic flushing is not supported, only the default is accepted' },
  'flush.ms': { type: long({ min: 0, unit: 'ms' }), default: LONG_MAX_TEXT, kafkaBroker: 'log.flush.interval.ms', support: 'refused', description: 'fsync is broker-wide here (--flush: always, os or an interval); per-topic flushing is not supported, only the default is accepted' },
  'follower.replication.throttled.replicas': { type: throttledReplicas(), default: '', kafkaBroker: 'follower.replication.throttled.replicas', support: 'single-node', description: 'accepted and checked; one node has no replication to throttle' },
  'index.interval.bytes': { type: int({ min: 0, unit: 'bytes' }), from: 'indexIntervalBytes', support: 'honoured', description: 'bytes between two entries of a segment\'s offset and time indexes' },
  'leader.replication.throttled.replicas': { type: throttledReplicas(), default: '', kafkaBroker: 'leader.replication.throttled.replicas', support: 'single-node', description: 'accepted and checked; one node has no replication to throttle' },
  'local.retention.bytes': { type: long({ min: -2, unit: 'bytes' }), default: '-2', kafkaBroker: 'log.local.retention.bytes', support: 'refused', description: `${NO_TIERED}; only -2 (retention.bytes) is accepted` },
  'local.retention.ms': { type: long({ min: -2, unit: 'ms' }), default: '-2', kafkaBroker: 'log.local.retention.ms', support: 'refused', description: `${NO_TIERED}; only -2 (retention.ms) is accepted` },
  'max.message.bytes': { type: int({ min: 0, unit: 'bytes' }), from: 'maxMessageBytes', support: 'honoured', description: 'the largest record batch accepted on this topic (MESSAGE_TOO_LARGE)' },
  'message.timestamp.after.max.ms': { type: long({ min: 0, unit: 'ms' }), from: 'messageTimestampAfterMaxMs', support: 'honoured', description: 'CreateTime: a batch with a record timestamped further than this in the future is refused with INVALID_TIMESTAMP' },
  'message.timestamp.before.max.ms': { type: long({ min: 0, unit: 'ms' }), from: 'messageTimestampBeforeMaxMs', support: 'honoured', description: 'CreateTime: a batch with a record timestamped further than this in the past is refused with INVALID_TIMESTAMP' },
  'message.timestamp.type': { type: oneOf(['CreateTime', 'LogAppendTime']), from: 'messageTimestampType', support: 'honoured', description: 'LogAppendTime: the broker stamps batches with its clock as they arrive' },
  'min.insync.replicas': { type: int({ min: 1 }), from: 'minInsyncReplicas', support: 'honoured', description: 'the in-sync replica set is this one node: above 1, acks=all produces fail with NOT_ENOUGH_REPLICAS (acks 0 and 1 succeed), as in Kafka with one replica' },
  'preallocate': { type: bool(), default: 'false', kafkaBroker: 'log.preallocate', support: 'refused', description: 'segment files grow as they are written; preallocation is not supported, only false is accepted' },
  'remote.log.copy.disable': { type: bool(), default: 'false', kafkaBroker: 'remote.log.copy.disable', support: 'refused', description: `${NO_TIERED}; only false is accepted` },
  'remote.log.delete.on.disable': { type: bool(), default: 'false', kafkaBroker: 'remote.log.delete.on.disable', support: 'refused', description: `${NO_TIERED}; only false is accepted` },
  'remote.storage.enable': { type: bool(), default: 'false', kafkaBroker: 'remote.log.storage.system.enable', support: 'refused', description: `${NO_TIERED}; only false is accepted` },
  'retention.bytes': { type: long({ min: -1, unit: 'bytes' }), from: 'retentionBytes', support: 'honoured', description: 'a partition larger than this loses its oldest whole segments at the next retention pass (PostgreSQL: pseudo-segments of segment.bytes, docs/cluster.md); -1: no bound' },
  'retention.ms': {
    type: long({ min: -1, unit: 'ms' }), support: 'honoured', description: 'segments whose newest record is older than this are deleted at the next retention pass; -1 keeps them',
    derived: { from: ['retentionMs', 'retentionMinutes', 'retentionHours'], value: (c) => firstSet(c, [['retentionMs', 1], ['retentionMinutes', 60000], ['retentionHours', HOUR]]) },
  },
  'segment.bytes': { type: int({ min: 14, unit: 'bytes' }), from: 'segmentBytes', kafkaDefault: '1073741824 (at least 1048576)', support: 'honoured', description: 'a segment rolls to a new file before it would pass this size (PostgreSQL: the size of the pseudo-segments retention.bytes removes)' },
  'segment.index.bytes': { type: int({ min: 4, unit: 'bytes' }), from: 'segmentIndexBytes', support: 'honoured', description: 'a segment rolls before its offset index (8 bytes an entry) or time index (12 bytes) would pass this size' },
  'segment.jitter.ms': {
    type: long({ min: 0, unit: 'ms' }), support: 'honoured', description: 'each segment rolls a random 0..this ms before segment.ms',
    derived: { from: ['rollJitterMs', 'rollJitterHours'], value: (c) => firstSet(c, [['rollJitterMs', 1], ['rollJitterHours', HOUR]]) },
  },
  'segment.ms': {
    type: long({ min: 1, unit: 'ms' }), support: 'honoured', description: 'a segment whose first append is older than this rolls at the next append (PostgreSQL: no files, no effect; retention.ms works per batch there)',
    derived: { from: ['rollMs', 'rollHours'], value: (c) => firstSet(c, [['rollMs', 1], ['rollHours', HOUR]]) },
  },
  'unclean.leader.election.enable': { type: bool(), default: 'false', kafkaBroker: 'unclean.leader.election.enable', support: 'single-node', description: 'accepted; the one replica is always the leader and always in sync, so no election is ever unclean' },
  'delete.retention.ms': { type: long({ min: 0, unit: 'ms' }), default: '86400000', kafkaBroker: 'log.cleaner.delete.retention.ms', support: 'honoured', description: 'compacted topics: a tombstone (null value) is kept at least this long after its segment was last written' },
  'max.compaction.lag.ms': { type: long({ min: 1, unit: 'ms' }), default: '9223372036854775807', kafkaBroker: 'log.cleaner.max.compaction.lag.ms', support: 'honoured', description: 'compacted topics: a rolled segment whose newest record is older than this is cleaned whatever min.cleanable.dirty.ratio says' },
  'min.cleanable.dirty.ratio': { type: double({ min: 0, max: 1 }), default: '0.5', kafkaBroker: 'log.cleaner.min.cleanable.ratio', support: 'honoured', description: 'compacted topics: cleaned when the uncleaned part is at least this share of the rolled segments' },
  'min.compaction.lag.ms': { type: long({ min: 0, unit: 'ms' }), default: '0', kafkaBroker: 'log.cleaner.min.compaction.lag.ms', support: 'honoured', description: 'compacted topics: a segment is cleaned only once its newest record is this old' },
};

/** The row of a topic setting; own keys only, so a client sending "toString" gets a clean refusal. */
export function topicSetting(name: string): TopicSetting | undefined {
  return Object.hasOwn(TOPIC_SETTINGS, name) ? TOPIC_SETTINGS[name] : undefined;
}

/** Formats one broker setting's value as Kafka text ('' when it has none, e.g. no advertised host). */
export function brokerValueText<K extends keyof BrokerConfig>(config: BrokerConfig, key: K): string {
  const value = config[key];
  return value === undefined || value === null ? '' : BROKER_SETTINGS[key].type.format(value);
}

/** The default of a setting as text, or its computed default in words. */
export function brokerDefaultText<K extends keyof BrokerConfig>(key: K): string {
  const setting: BrokerSetting<K> = BROKER_SETTINGS[key];
  const value = setting.default;
  if (value === undefined || value === null) return setting.defaultText ?? '';
  return setting.type.flagText ? setting.type.flagText(value) : setting.type.format(value);
}

/** Whether a broker setting still has its table default. */
export function isBrokerDefault<K extends keyof BrokerConfig>(config: BrokerConfig, key: K): boolean {
  const value = config[key];
  const setting: BrokerSetting<K> = BROKER_SETTINGS[key];
  if (value === undefined || setting.default === undefined) return value === setting.default;
  return setting.type.format(value) === setting.type.format(setting.default);
}

function copyDefault<K extends keyof BrokerConfig>(config: Partial<BrokerConfig>, key: K): void {
  const value = BROKER_SETTINGS[key].default;
  if (value !== undefined) config[key] = value;
}

/** A BrokerConfig of every default in the table. */
export function defaultBrokerConfig(): BrokerConfig {
  const config: Partial<BrokerConfig> = {};
  for (const key of BROKER_SETTING_KEYS) copyDefault(config, key);
  // Every key has a row (BrokerSettingTable's type demands it); the keys left out are the optional ones.
  return config as BrokerConfig;
}

/** Sets `key` of `config` from text; throws an Error naming `name` when the text is not a value. */
export function parseBrokerSetting<K extends keyof BrokerConfig>(config: Partial<BrokerConfig>, key: K, textValue: string, name: string): void {
  const setting: BrokerSetting<K> = BROKER_SETTINGS[key];
  config[key] = setting.type.parse(textValue, name);
}

/** A topic setting's default under this broker config. */
export function topicDefault(config: BrokerConfig, name: string): string | undefined {
  const setting = topicSetting(name);
  if (!setting) return undefined;
  if (setting.derived) return setting.derived.value(config);
  return setting.from !== undefined ? brokerValueText(config, setting.from) : setting.default;
}

/** The broker settings a topic setting's default comes from (empty when it is fixed here). */
export function topicDefaultFrom(name: string): readonly BrokerSettingKey[] {
  const setting = topicSetting(name);
  return setting?.derived?.from ?? (setting?.from !== undefined ? [setting.from] : []);
}

/**
 * Where a topic setting's default comes from: 'broker' when a broker setting that supplies it was
 * changed from its own default (Kafka's STATIC_BROKER_CONFIG), else 'default'.
 */
export function topicDefaultSource(config: BrokerConfig, name: string): 'broker' | 'default' {
  return topicDefaultFrom(name).some((key) => !isBrokerDefault(config, key)) ? 'broker' : 'default';
}

/** One synonym of a config as DescribeConfigs (includeSynonyms) reports it, in precedence order. */
export interface ConfigSynonym {
  name: string;
  value: string;
  source: number;
}

/**
 * Where a topic setting's value could come from, in Kafka's order: the topic's own value
 * (DYNAMIC_TOPIC_CONFIG), each broker setting behind its default that was set
 * (STATIC_BROKER_CONFIG), then the default under the broker setting's name (DEFAULT_CONFIG).
 */
export function topicSynonyms(config: BrokerConfig, name: string, override: string | undefined): ConfigSynonym[] {
  const setting = topicSetting(name);
  if (!setting) return [];
  const out: ConfigSynonym[] = [];
  if (override !== undefined) out.push({ name, value: override, source: KAFKA_CONFIG_SOURCE.DYNAMIC_TOPIC_CONFIG });
  const from = topicDefaultFrom(name);
  for (const key of from) {
    const kafka = BROKER_SETTINGS[key].kafka;
    if (kafka && !isBrokerDefault(config, key)) out.push({ name: kafka, value: brokerValueText(config, key), source: KAFKA_CONFIG_SOURCE.STATIC_BROKER_CONFIG });
  }
  const withDefault = from.find((key) => BROKER_SETTINGS[key].default !== undefined);
  if (withDefault !== undefined) {
    const kafka = BROKER_SETTINGS[withDefault].kafka ?? name;
    out.push({ name: kafka, value: brokerDefaultText(withDefault), source: KAFKA_CONFIG_SOURCE.DEFAULT_CONFIG });
  } else if (setting.default !== undefined) {
    out.push({ name: setting.kafkaBroker ?? name, value: setting.default, source: KAFKA_CONFIG_SOURCE.DEFAULT_CONFIG });
  }
  return out;
}

/** Why `value` is not acceptable for topic config `name`, or null when it is. */
export function topicConfigProblem(name: string, value: string): string | null {
  const setting = topicSetting(name);
  if (!setting) return `unknown topic config ${name}`;
  try {
    const parsed = setting.type.parse(value, name);
    if (setting.support === 'refused' && setting.default !== undefined && setting.type.format(parsed) !== setting.type.format(setting.type.parse(setting.default, name))) {
      return `${name}=${value} is not supported by Fjord: ${setting.description}`;
    }
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The Kafka ConfigType number of a broker or topic config name (STRING when unknown). */
export function kafkaConfigType(name: string): number {
  const topic = topicSetting(name);
  if (topic) return KAFKA_CONFIG_TYPE[topic.type.kafkaType];
  const fixed = Object.hasOwn(FIXED_BROKER_CONFIGS, name) ? FIXED_BROKER_CONFIGS[name] : undefined;
  if (fixed) return KAFKA_CONFIG_TYPE[fixed.type.kafkaType];
  const key = BROKER_SETTING_KEYS.find((k) => BROKER_SETTINGS[k].kafka === name || BROKER_SETTINGS[k].kafkaAlias === name);
  return KAFKA_CONFIG_TYPE[key ? BROKER_SETTINGS[key].type.kafkaType : 'STRING'];
}

/**
 * A config's documentation as DescribeConfigs v3+ reports it when asked (includeDocumentation): the
 * table's own description, which says what Fjord does with it; null for a name the table lacks.
 */
export function configDocumentation(name: string): string | null {
  const topic = topicSetting(name);
  if (topic) return topic.description;
  if (Object.hasOwn(FIXED_BROKER_CONFIGS, name)) return FIXED_BROKER_CONFIGS[name].description;
  const key = BROKER_SETTING_KEYS.find((k) => BROKER_SETTINGS[k].kafka === name || BROKER_SETTINGS[k].kafkaAlias === name);
  return key ? BROKER_SETTINGS[key].description : null;
}

/** The broker setting a Kafka name (or alias) stands for, if any. */
export function brokerSettingOf(name: string): BrokerSettingKey | undefined {
  return BROKER_SETTING_KEYS.find((k) => BROKER_SETTINGS[k].kafka === name || BROKER_SETTINGS[k].kafkaAlias === name);
}

/** Kafka names of the settings that can change while running (`dynamic` in the table). */
export function isDynamicBrokerConfig(name: string): boolean {
  const key = brokerSettingOf(name);
  return key !== undefined && BROKER_SETTINGS[key].dynamic === true;
}

/** Sets a setting in a live config from Kafka text; throws the type's error for a bad value. */
export function setBrokerValue<K extends BrokerSettingKey>(config: BrokerConfig, key: K, text: string): void {
  const setting: BrokerSetting<K> = BROKER_SETTINGS[key];
  config[key] = setting.type.parse(text, setting.kafka ?? setting.flag);
}

export interface BrokerConfigEntry {
  name: string;
  /** null for a sensitive setting (its value is never reported). */
  value: string | null;
  sensitive: boolean;
  /** 'default': the table's default; 'static': set at start (flag, environment, options) or fixed. */
  source: 'default' | 'static';
}

/** The broker's configs under Kafka's names, sorted by name, as DescribeConfigs reports them. */
export function brokerConfigEntries(config: BrokerConfig): BrokerConfigEntry[] {
  const entries: BrokerConfigEntry[] = [];
  for (const key of BROKER_SETTING_KEYS) {
    const { kafka, kafkaAlias } = BROKER_SETTINGS[key];
    const source = isBrokerDefault(config, key) ? 'default' : 'static';
    const sensitive = BROKER_SETTINGS[key].sensitive === true;
    for (const name of [kafka, kafkaAlias]) if (name) entries.push({ name, value: sensitive ? null : brokerValueText(config, key), source, sensitive });
  }
  for (const [name, fixed] of Object.entries(FIXED_BROKER_CONFIGS)) entries.push({ name, value: fixed.value, source: 'static', sensitive: false });
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Whether a config holds a list (IncrementalAlterConfigs APPEND/SUBTRACT apply to these only). */
export function isListConfig(name: string): boolean {
  return topicSetting(name)?.type.kafkaType === 'LIST';
}

/** Every default, from the table above, where each is written once. */
export const DEFAULT_CONFIG: BrokerConfig = defaultBrokerConfig();
