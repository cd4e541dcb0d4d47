// `fjord configs describe|alter` for topics and brokers, also in kafka-configs.sh form
// (`--entity-type topics --entity-name t --describe`, `--add-config k=v`, `--delete-config k`).
import { ConfigResourceTypes, ConfigSource, type Admin } from '../client/index.js';
import { COMMON_HELP, Exit, UsageError, kafkaFor, list, out, pairs, parse, runCommand, str, table, type Values } from './common.js';

export const CONFIGS_HELP = `Usage: fjord configs <describe|alter> (--topic <t> | --broker <id>) [options]

Show or change configuration.

  fjord configs describe --topic <t> [--overrides]
  fjord configs describe --broker <id>
  fjord configs alter --topic <t> [--set k=v[,k=v]]... [--delete k[,k]]...

Options:
  --topic <t>                a topic
  --broker <id>              a broker (node id, e.g. 1)
  --overrides                describe: only values set on the topic, not defaults
  --set <k=v[,k=v]>          alter: set these configs (repeatable)
  --delete <k[,k]>           alter: remove these overrides, back to the default (repeatable)
  --json                     describe: print JSON
${COMMON_HELP}
Kafka's flags work too: --describe, --alter, --entity-type topics|brokers, --entity-name <n>,
--add-config k=v,k2=v2, --delete-config k.

Examples:
  fjord configs describe --topic orders
  fjord configs describe --topic orders --overrides
  fjord configs alter --topic orders --set retention.ms=86400000
  fjord configs alter --topic orders --delete retention.ms
  fjord configs --describe --entity-type topics --entity-name orders --bootstrap-server localhost:9092

Exit codes: 0 done, 1 refused (unknown topic, bad value, or the broker cannot change configs),
2 bad usage, 3 no broker.
`;

const OPTIONS = {
  describe: { type: 'boolean' }, alter: { type: 'boolean' },
  topic: { type: 'string' }, broker: { type: 'string' }, 'entity-type': { type: 'string' }, 'entity-name': { type: 'string' },
  overrides: { type: 'boolean' }, all: { type: 'boolean' }, set: { type: 'string', multiple: true }, 'add-config': { type: 'string', multiple: true },
  delete: { type: 'string', multiple: true }, 'delete-config': { type: 'string', multiple: true }, json: { type: 'boolean' },
} as const;

const SOURCE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ConfigSource).map(([k, v]) => [v, k]));

function resourceOf(values: Values): { type: number; name: string; label: string } {
  const topic = str(values.topic);
  const broker = str(values.broker);
  const entityType = str(values['entity-type']);
  const entityName = str(values['entity-name']);
  if ([topic, broker, entityType].filter((x) => x !== undefined).length > 1) throw new UsageError('name one resource: --topic <t> or --broker <id>');
  if (topic !== undefined) return { type: ConfigResourceTypes.TOPIC, name: topic, label: `topic ${topic}` };
  if (broker !== undefined) {
    if (!/^\d+$/.test(broker)) throw new UsageError(`--broker takes a node id (a number), not "${broker}"`);
    return { type: ConfigResourceTypes.BROKER, name: broker, label: `broker ${broker}` };
  }
  if (entityType !== undefined) {
    if (!entityName) throw new UsageError('--entity-type needs --entity-name');
    if (entityType === 'topics' || entityType === 'topic') return { type: ConfigResourceTypes.TOPIC, name: entityName, label: `topic ${entityName}` };
    if (entityType === 'brokers' || entityType === 'broker') return { type: ConfigResourceTypes.BROKER, name: entityName, label: `broker ${entityName}` };
    throw new UsageError(`--entity-type takes topics or brokers, not "${entityType}"`);
  }
  throw new UsageError('say which resource: --topic <t> or --broker <id>');
}

export function runConfigs(argv: string[]): Promise<number> {
  return runCommand('configs', CONFIGS_HELP, argv, async () => {
    const { values, positionals } = parse(argv, OPTIONS);
    let action = values.describe ? 'describe' : values.alter ? 'alter' : positionals[0];
    if (values.describe && values.alter) throw new UsageError('use --describe or --alter, not both');
    if (!action) throw new UsageError('say what to do: describe or alter');
    if (action !== 'describe' && action !== 'alter') throw new UsageError(`unknown action "${action}" (describe, alter)`);
    const resource = resourceOf(values);
    const sets = pairs('--set', [...list(values.set), ...list(values['add-config'])]);
    const deletes = [...list(values.delete), ...list(values['delete-config'])].flatMap((d) => d.split(',')).filter(Boolean);
    if (action === 'alter' && sets.length === 0 && deletes.length === 0) throw new UsageError('configs alter needs --set k=v and/or --delete k');
    action = action as 'describe' | 'alter';
    const admin = kafkaFor(values).admin();
    await admin.connect();
    try {
      if (resource.type === ConfigResourceTypes.TOPIC && !(await admin.listTopics()).includes(resource.name)) {
        process.stderr.write(`error: topic "${resource.name}" does not exist\n`);
        return Exit.FAILED;
      }
      if (action === 'describe') return await describe(admin, resource, !!values.overrides, !!values.json);
      return await alter(admin, resource, sets, deletes);
    } finally {
      await admin.disconnect();
    }
  });
}

async function describe(admin: Admin, r: { type: number; name: string; label: string }, overridesOnly: boolean, json: boolean): Promise<number> {
  const res = await admin.describeConfigs({ resources: [{ type: r.type, name: r.name }] });
  let entries = res.resources[0]?.configEntries ?? [];
  if (overridesOnly) entries = entries.filter((e) => !e.isDefault && e.configSource !== ConfigSource.DEFAULT_CONFIG && e.configSource !== ConfigSource.STATIC_BROKER_CONFIG);
  entries.sort((a, b) => a.configName.localeCompare(b.configName));
  if (json) {
    out(`${JSON.stringify(Object.fromEntries(entries.map((e) => [e.configName, e.isSensitive ? null : e.configValue])), null, 2)}\n`);
    return Exit.OK;
  }
  out(`Configs of ${r.label}:\n`);
  out(table(['NAME', 'VALUE', 'SOURCE'], entries.map((e) => [e.configName, e.isSensitive ? '(sensitive)' : e.configValue ?? 'null', (SOURCE_NAMES[e.configSource] ?? String(e.configSource)).toLowerCase().replace(/_/g, '-')])));
  return Exit.OK;
}

async function alter(admin: Admin, r: { type: number; name: string; label: string }, sets: [string, string][], deletes: string[]): Promise<number> {
  // AlterConfigs replaces the whole set of overrides: start from the current ones.
  const current = await admin.describeConfigs({ resources: [{ type: r.type, name: r.name }] });
  const overrides = new Map<string, string>();
  for (const e of current.resources[0]?.configEntries ?? []) {
    const isOverride = r.type === ConfigResourceTypes.TOPIC ? e.configSource === ConfigSource.TOPIC_CONFIG : e.configSource === ConfigSource.DYNAMIC_BROKER_CONFIG;
    if (isOverride && e.configValue !== null) overrides.set(e.configName, e.configValue);
  }
  for (const d of deletes) overrides.delete(d);
  for (const [k, v] of sets) overrides.set(k, v);
  await admin.alterConfigs({ resources: [{ type: r.type, name: r.name, configEntries: [...overrides].map(([name, value]) => ({ name, value })) }] });
  const parts = [...sets.map(([k, v]) => `set ${k}=${v}`), ...deletes.map((d) => `removed ${d}`)];
  out(`Updated ${r.label}: ${parts.join(', ')}.\n`);
  return Exit.OK;
}
