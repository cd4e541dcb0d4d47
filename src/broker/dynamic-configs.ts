// Dynamic broker configs: what Incremental/AlterConfigs set on the broker resource, Kafka's
// DYNAMIC_BROKER_CONFIG (resource name = this broker's node id) and DYNAMIC_DEFAULT_BROKER_CONFIG
// (resource name "", every broker). Only settings marked `dynamic` in the settings table can be set:
// those whose code reads the value at each use (the log cleaner's), so a change is honoured at once;
// the value in effect is the broker's own, else the cluster default, else what the broker started
// with. It is written into the broker's live config object, which DescribeConfigs and the code read.
// Kept in the internal log `__fjord_broker_configs` (Storage.internalLog), replayed on start before
// anything reads the config and, in cluster mode, followed while running (`catchUp` at each poll).
//
// Record format (format version 1). Key and value are UTF-8 JSON:
//
//   key   ["config", <node id as text, or "" for the cluster default>, <Kafka config name>]
//   value {"v":1, "value":<text>}; a null value (tombstone) removes the override.
//
// A resource's changes in one request are one uncompressed batch, appended with {sync: true} before
// the answer. Records of other nodes are kept (cluster mode) and not applied here; unknown or
// no-longer-dynamic names and values the setting's type refuses are skipped with a warning.
import type { Storage } from '../storage/types.js';
import type { BrokerConfig } from './config.js';
import { FollowedLog, parseJsonRecord } from './internal-log.js';
import type { Logger } from './logger.js';
import {
  BROKER_SETTINGS, brokerSettingOf, brokerValueText, isDynamicBrokerConfig, KAFKA_CONFIG_SOURCE, setBrokerValue, type BrokerSetting, type BrokerSettingKey,
} from './settings.js';

export const BROKER_CONFIG_LOG = '__fjord_broker_configs';
const FORMAT_VERSION = 1;

/** One config source of a dynamic setting, as DescribeConfigs' synonyms list them (strongest first). */
export interface ConfigSynonym {
  name: string;
  value: string;
  source: number;
}

export class DynamicBrokerConfigs {
  /** Overrides by resource name (a node id as text, or "" for the cluster default), then Kafka name. */
  private readonly overrides = new Map<string, Map<string, string>>();
  /** Each dynamic setting's value as the broker started (flags, environment, file, defaults). */
  private readonly startValues = new Map<BrokerSettingKey, string>();
  private readonly startedDefault = new Set<BrokerSettingKey>();
  private readonly log: FollowedLog;

  /** `nodeId` is this broker's id (known once it has joined, in cluster mode); `changed` runs after the values in effect changed (the log cleaner re-arms its timer). */
  constructor(
    private readonly storage: Storage, private readonly config: BrokerConfig, private readonly nodeId: () => number,
    private readonly logger: Logger, private readonly changed: () => void = () => {},
  ) {
    for (const key of Object.keys(BROKER_SETTINGS) as BrokerSettingKey[]) {
      if (BROKER_SETTINGS[key].dynamic !== true) continue;
      this.startValues.set(key, brokerValueText(config, key));
      if (brokerValueText(config, key) === formatDefault(key)) this.startedDefault.add(key);
    }
    this.log = new FollowedLog(BROKER_CONFIG_LOG, 'broker config store', (key, value, offset, skipped) => {
      const d = decodeRecord(key, value);
      if (typeof d === 'string') skipped(d, offset);
      else this.apply(d.resource, new Map([[d.name, d.value]]));
    }, logger);
  }

  start(): Promise<void> {
    return this.log.open(this.storage);
  }

  /** Applies what another broker appended since (cluster mode). */
  catchUp(): Promise<void> {
    return this.log.catchUp();
  }

  /** The overrides set on a resource ("" or a node id), by Kafka name. */
  current(resource: string): Record<string, string> {
    return Object.fromEntries(this.overrides.get(resource) ?? []);
  }

  /**
   * Why `next` (a resource's whole set of overrides) cannot be stored, as [error code name, Kafka's
   * message], or null. Names first (every name that cannot change, as Kafka lists them), then values.
   */
  problem(next: Record<string, string>): ['INVALID_REQUEST' | 'INVALID_CONFIG', string] | null {
    const names = Object.keys(next);
    const unknown = names.filter((n) => brokerSettingOf(n) === undefined);
    if (unknown.length > 0) return ['INVALID_CONFIG', `Unknown broker config${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (Fjord takes no setting it would ignore)`];
    const fixed = names.filter((n) => !isDynamicBrokerConfig(n));
    if (fixed.length > 0) return ['INVALID_REQUEST', `Cannot update these configs dynamically: Set(${fixed.join(', ')})`];
    for (const [name, text] of Object.entries(next)) {
      const key = brokerSettingOf(name)!;
      try {
        BROKER_SETTINGS[key].type.parse(text, name);
      } catch (err) {
        return ['INVALID_REQUEST', `Invalid value ${text} for configuration ${name}: ${err instanceof Error ? err.message : String(err)}`];
      }
    }
    return null;
  }

  /** Stores `next` as the resource's whole set of overrides (checked by `problem` first), durably. */
  replace(resource: string, next: Record<string, string>): Promise<void> {
    const have = this.overrides.get(resource) ?? new Map<string, string>();
    const changes = new Map<string, string | null>();
    for (const [name, value] of Object.entries(next)) if (have.get(name) !== value) changes.set(name, value);
    for (const name of have.keys()) if (!Object.hasOwn(next, name)) changes.set(name, null);
    const records = [...changes].map(([name, value]) => encodeRecord(resource, name, value));
    return this.log.write(records, () => this.apply(resource, changes));
  }

  /** Where a dynamic setting's value in effect comes from, with its synonyms (strongest first); null for others. */
  describe(name: string): { source: number; synonyms: ConfigSynonym[] } | null {
    const key = brokerSettingOf(name);
    if (key === undefined || BROKER_SETTINGS[key].dynamic !== true) return null;
    const synonyms: ConfigSynonym[] = [];
    const own = this.overrides.get(String(this.nodeId()))?.get(name);
    if (own !== undefined) synonyms.push({ name, value: own, source: KAFKA_CONFIG_SOURCE.DYNAMIC_BROKER_CONFIG });
    const cluster = this.overrides.get('')?.get(name);
    if (cluster !== undefined) synonyms.push({ name, value: cluster, source: KAFKA_CONFIG_SOURCE.DYNAMIC_DEFAULT_BROKER_CONFIG });
    if (!this.startedDefault.has(key)) synonyms.push({ name, value: this.startValues.get(key)!, source: KAFKA_CONFIG_SOURCE.STATIC_BROKER_CONFIG });
    synonyms.push({ name, value: formatDefault(key), source: KAFKA_CONFIG_SOURCE.DEFAULT_CONFIG });
    return { source: synonyms[0].source, synonyms };
  }

  private apply(resource: string, changes: ReadonlyMap<string, string | null>): void {
    let map = this.overrides.get(resource);
    if (!map) this.overrides.set(resource, (map = new Map()));
    for (const [name, value] of changes) {
      if (value === null) map.delete(name);
      else map.set(name, value);
    }
    if (map.size === 0) this.overrides.delete(resource);
    if (resource !== '' && resource !== String(this.nodeId())) return;
    for (const name of changes.keys()) this.recompute(name);
    this.changed();
  }

  /** Writes the value in effect of one setting into the live config. */
  private recompute(name: string): void {
    const key = brokerSettingOf(name);
    if (key === undefined || BROKER_SETTINGS[key].dynamic !== true) {
      this.logger.warn(`${BROKER_CONFIG_LOG}: ${name} is not a dynamic broker config here; its stored value is not applied`);
      return;
    }
    const value = this.overrides.get(String(this.nodeId()))?.get(name) ?? this.overrides.get('')?.get(name) ?? this.startValues.get(key)!;
    try {
      setBrokerValue(this.config, key, value);
    } catch (err) {
      this.logger.warn(`${BROKER_CONFIG_LOG}: stored ${name}=${value} is not applied: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function formatDefault<K extends BrokerSettingKey>(key: K): string {
  const setting: BrokerSetting<K> = BROKER_SETTINGS[key];
  const value = setting.default;
  return value === undefined || value === null ? '' : setting.type.format(value);
}

function encodeRecord(resource: string, name: string, value: string | null): { key: Buffer; value: Buffer | null } {
  return {
    key: Buffer.from(JSON.stringify(['config', resource, name])),
    value: value === null ? null : Buffer.from(JSON.stringify({ v: FORMAT_VERSION, value })),
  };
}

function decodeRecord(key: Buffer | null, value: Buffer | null): { resource: string; name: string; value: string | null } | string {
  const parsed = parseJsonRecord(key, value);
  if (typeof parsed === 'string') return parsed;
  const { key: k, value: v } = parsed;
  if (!Array.isArray(k) || k.length !== 3 || k[0] !== 'config' || typeof k[1] !== 'string' || typeof k[2] !== 'string') return 'record with an unknown key';
  if (v === null) return { resource: k[1], name: k[2], value: null };
  if (typeof v !== 'object') return 'malformed broker config record';
  const x = v as Record<string, unknown>;
  if (x.v !== FORMAT_VERSION) return `record of format version ${String(x.v)}`;
  if (typeof x.value !== 'string') return 'malformed broker config record';
  return { resource: k[1], name: k[2], value: x.value };
}
