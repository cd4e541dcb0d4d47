// Group configs (Kafka's ConfigResource type GROUP = 32) of share groups: DescribeConfigs and
// IncrementalAlterConfigs/AlterConfigs on a group id. Three are honoured, each with the broker
// setting that gives its default:
//   share.auto.offset.reset        latest | earliest: where a share-partition starts when the group
//                                  first fetches it (log end or log start)
//   share.record.lock.duration.ms  the group's acquisition lock (default group.share.record.lock.duration.ms)
//   share.isolation.level          read_uncommitted | read_committed: the latter hands out records
//                                  below the last stable offset only, and archives aborted ones
// Any other name is refused with INVALID_CONFIG (Kafka's consumer.* and streams.* group configs are
// not kept: a setting that is accepted is honoured). Kafka's by_duration: reset is refused too.
// Values are kept per group id, whether or not the group exists yet, in __share_group_state.
import { ErrorCode } from '../../protocol/generated/errors.js';

/** ConfigResource.Type.GROUP */
export const RESOURCE_GROUP = 32;
/** Kafka's ConfigSource for a value set on the group. */
export const GROUP_CONFIG_SOURCE = 8;
const DEFAULT_CONFIG_SOURCE = 5;
const CONFIG_TYPE = { STRING: 2, INT: 3 } as const;

export class GroupConfigError extends Error {
  constructor(message: string, readonly errorCode: number = ErrorCode.INVALID_CONFIG) {
    super(message);
  }
}

interface GroupConfigDef {
  type: keyof typeof CONFIG_TYPE;
  defaultOf(brokerLockMs: number): string;
  check(value: string): string | null;
}

export const SHARE_GROUP_CONFIGS: Record<string, GroupConfigDef> = {
  'share.auto.offset.reset': {
    type: 'STRING',
    defaultOf: () => 'latest',
    check: (v) => (v === 'latest' || v === 'earliest' ? null : `share.auto.offset.reset must be latest or earliest, not "${v}"`),
  },
  'share.record.lock.duration.ms': {
    type: 'INT',
    defaultOf: (ms) => String(ms),
    check: (v) => (/^\d+$/.test(v) && Number(v) >= 1000 && Number(v) <= 3600000 ? null : `share.record.lock.duration.ms must be an integer from 1000 to 3600000, not "${v}"`),
  },
  'share.isolation.level': {
    type: 'STRING',
    defaultOf: () => 'read_uncommitted',
    check: (v) => (v === 'read_uncommitted' || v === 'read_committed' ? null : `share.isolation.level must be read_uncommitted or read_committed, not "${v}"`),
  },
};

/** Throws GroupConfigError for an unknown name or a bad value. */
export function checkGroupConfigs(configs: Record<string, string>): void {
  for (const [name, value] of Object.entries(configs)) {
    const def = Object.hasOwn(SHARE_GROUP_CONFIGS, name) ? SHARE_GROUP_CONFIGS[name] : undefined;
    if (!def) throw new GroupConfigError(`Unknown group config name: ${name} (Fjord keeps ${Object.keys(SHARE_GROUP_CONFIGS).join(', ')})`);
    const problem = def.check(value);
    if (problem) throw new GroupConfigError(problem);
  }
}

export interface GroupConfigEntry {
  name: string;
  value: string;
  source: number;
  isDefault: boolean;
  configType: number;
}

/** Every group config of a group: its own values, else the defaults. */
export function groupConfigEntries(own: Record<string, string>, brokerLockMs: number): GroupConfigEntry[] {
  return Object.entries(SHARE_GROUP_CONFIGS).map(([name, def]) => {
    const set = Object.hasOwn(own, name);
    return {
      name, value: set ? own[name] : def.defaultOf(brokerLockMs), source: set ? GROUP_CONFIG_SOURCE : DEFAULT_CONFIG_SOURCE,
      isDefault: !set, configType: CONFIG_TYPE[def.type],
    };
  });
}
