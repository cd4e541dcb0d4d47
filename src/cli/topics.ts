// `fjord topics create|list|describe|delete|alter`, also in kafka-topics.sh form
// (`fjord topics --create --topic x --partitions 3 --bootstrap-server localhost:9092`).
import { ConfigResourceTypes, ConfigSource, type Admin } from '../client/index.js';
import { COMMON_HELP, Exit, UsageError, int, kafkaFor, list, out, pairs, parse, runCommand, str, table, type Values } from './common.js';

export const TOPICS_HELP = `Usage: fjord topics <create|list|describe|delete|alter> [topic...] [options]

Manage topics.

  fjord topics create <topic...> [--partitions N] [--replication-factor N] [--config k=v]...
  fjord topics list
  fjord topics describe [topic...]
  fjord topics delete <topic...>
  fjord topics alter <topic> [--partitions N] [--config k=v]...

Options:
  --partitions <n>           partitions of a new topic (default: the broker's), or the new
                             count for alter (partitions can only grow)
  --replication-factor <n>   replicas per partition (default: the broker's)
  --config <k=v[,k=v]>       topic config (repeatable), e.g. --config retention.ms=86400000
  --if-not-exists            create: no error when the topic already exists
  --if-exists                delete/alter/describe: no error when the topic does not exist
  --json                     list/describe: print JSON instead of a table
${COMMON_HELP}
Kafka's flags work too: --create, --list, --describe, --delete, --alter, --topic <name>.

Examples:
  fjord topics create orders --partitions 3
  fjord topics create events --config retention.ms=3600000 --config cleanup.policy=delete
  fjord topics list
  fjord topics describe orders
  fjord topics alter orders --partitions 6
  fjord topics delete orders
  fjord topics --create --topic orders --partitions 3 --bootstrap-server localhost:9092

Exit codes: 0 done, 1 the broker refused (e.g. the topic exists), 2 bad usage, 3 no broker.
`;

const OPTIONS = {
  create: { type: 'boolean' }, list: { type: 'boolean' }, describe: { type: 'boolean' },
  delete: { type: 'boolean' }, alter: { type: 'boolean' },
  topic: { type: 'string', multiple: true }, partitions: { type: 'string' },
  'replication-factor': { type: 'string' }, config: { type: 'string', multiple: true },
  'if-not-exists': { type: 'boolean' }, 'if-exists': { type: 'boolean' }, json: { type: 'boolean' },
  'exclude-internal': { type: 'boolean' },
} as const;

const ACTIONS = ['create', 'list', 'describe', 'delete', 'alter'] as const;
type Action = (typeof ACTIONS)[number];

function actionOf(values: Values, positionals: string[]): { action: Action; names: string[] } {
  const flagged = ACTIONS.filter((a) => values[a]);
  if (flagged.length > 1) throw new UsageError(`only one of ${flagged.map((a) => `--${a}`).join(', ')} at a time`);
  let action: Action | undefined = flagged[0];
  let rest = positionals;
  if (!action) {
    if (positionals.length === 0) throw new UsageError('say what to do: create, list, describe, delete or alter');
    if (!(ACTIONS as readonly string[]).includes(positionals[0])) throw new UsageError(`unknown action "${positionals[0]}" (create, list, describe, delete, alter)`);
    action = positionals[0] as Action;
    rest = positionals.slice(1);
  }
  return { action, names: [...rest, ...list(values.topic)] };
}

export function runTopics(argv: string[]): Promise<number> {
  return runCommand('topics', TOPICS_HELP, argv, async () => {
    const { values, positionals } = parse(argv, OPTIONS);
    const { action, names } = actionOf(values, positionals);
    const partitions = int('--partitions', str(values.partitions), 1);
    const replicationFactor = int('--replication-factor', str(values['replication-factor']), 1);
    const configs = pairs('--config', list(values.config));
    if ((action === 'create' || action === 'delete' || action === 'alter') && names.length === 0) {
      throw new UsageError(`topics ${action} needs a topic name`);
    }
    if (action === 'alter' && partitions === undefined && configs.length === 0) throw new UsageError('topics alter needs --partitions and/or --config');
    const admin = kafkaFor(values).admin();
    await admin.connect();
    try {
      switch (action) {
        case 'create': return await create(admin, names, partitions, replicationFactor, configs, !!values['if-not-exists']);
        case 'list': return await listTopics(admin, !!values.json, !!values['exclude-internal']);
        case 'describe': return await describe(admin, names, !!values.json, !!values['if-exists']);
        case 'delete': return await remove(admin, names, !!values['if-exists']);
        case 'alter': return await alter(admin, names, partitions, configs, !!values['if-exists']);
      }
    } finally {
      await admin.disconnect();
    }
  });
}

async function create(admin: Admin, names: string[], numPartitions: number | undefined, replicationFactor: number | undefined, configs: [string, string][], ifNotExists: boolean): Promise<number> {
  const existing = new Set(await admin.listTopics());
  const already = names.filter((n) => existing.has(n));
  if (already.length && !ifNotExists) {
    process.stderr.write(`error: topic ${already.map((n) => `"${n}"`).join(', ')} already exists (add --if-not-exists to ignore)\n`);
    return Exit.FAILED;
  }
  const todo = names.filter((n) => !existing.has(n));
  if (todo.length) {
    await admin.createTopics({
      topics: todo.map((topic) => ({ topic, numPartitions, replicationFactor, configEntries: configs.map(([name, value]) => ({ name, value })) })),
    });
  }
  for (const n of todo) out(`Created topic ${n}.\n`);
  return Exit.OK;
}

async function listTopics(admin: Admin, json: boolean, excludeInternal: boolean): Promise<number> {
  let names = (await admin.listTopics()).sort();
  if (excludeInternal) names = names.filter((n) => !n.startsWith('__'));
  out(json ? `${JSON.stringify(names)}\n` : names.map((n) => `${n}\n`).join(''));
  return Exit.OK;
}

async function describe(admin: Admin, names: string[], json: boolean, ifExists: boolean): Promise<number> {
  const existing = new Set(await admin.listTopics());
  const missing = names.filter((n) => !existing.has(n));
  if (missing.length && !ifExists) {
    process.stderr.write(`error: topic ${missing.map((n) => `"${n}"`).join(', ')} does not exist\n`);
    return Exit.FAILED;
  }
  const wanted = names.length ? names.filter((n) => existing.has(n)) : [...existing].sort();
  if (wanted.length === 0) {
    if (json) out('[]\n');
    return Exit.OK;
  }
  const meta = await admin.fetchTopicMetadata({ topics: wanted });
  const configs = await admin.describeConfigs({ resources: wanted.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })) });
  const result = [];
  for (const t of meta.topics) {
    const offsets = await admin.fetchTopicOffsets(t.name);
    const overrides = configs.resources.find((r) => r.resourceName === t.name)?.configEntries
      .filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG || (!e.isDefault && e.configSource !== ConfigSource.DEFAULT_CONFIG && e.configSource !== ConfigSource.STATIC_BROKER_CONFIG))
      .map((e) => [e.configName, e.configValue] as const) ?? [];
    result.push({
      topic: t.name,
      partitionCount: t.partitions.length,
      replicationFactor: t.partitions[0]?.replicas.length ?? 0,
      configs: Object.fromEntries(overrides),
      partitions: t.partitions.map((p) => {
        const o = offsets.find((x) => x.partition === p.partitionId);
        return { partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr, startOffset: Number(o?.low ?? 0), endOffset: Number(o?.high ?? 0) };
      }),
    });
  }
  if (json) {
    out(`${JSON.stringify(result, null, 2)}\n`);
    return Exit.OK;
  }
  result.forEach((t, i) => {
    if (i > 0) out('\n');
    const cfg = Object.entries(t.configs).map(([k, v]) => `${k}=${v}`).join(',');
    out(`Topic: ${t.topic}  PartitionCount: ${t.partitionCount}  ReplicationFactor: ${t.replicationFactor}  Configs: ${cfg}\n`);
    out(table(['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'START-OFFSET', 'END-OFFSET', 'MESSAGES'],
      t.partitions.map((p) => [p.partition, p.leader, p.replicas.join(','), p.isr.join(','), p.startOffset, p.endOffset, p.endOffset - p.startOffset])));
  });
  return Exit.OK;
}

/** The named topics that exist; null (after saying which are missing) if some do not and `ifExists` is off. */
async function existingTopics(admin: Admin, names: string[], ifExists: boolean): Promise<string[] | null> {
  const existing = new Set(await admin.listTopics());
  const missing = names.filter((n) => !existing.has(n));
  if (missing.length && !ifExists) {
    process.stderr.write(`error: topic ${missing.map((n) => `"${n}"`).join(', ')} does not exist\n`);
    return null;
  }
  return names.filter((n) => existing.has(n));
}

async function remove(admin: Admin, names: string[], ifExists: boolean): Promise<number> {
  const todo = await existingTopics(admin, names, ifExists);
  if (!todo) return Exit.FAILED;
  if (todo.length) await admin.deleteTopics({ topics: todo });
  for (const n of todo) out(`Deleted topic ${n}.\n`);
  return Exit.OK;
}

async function alter(admin: Admin, names: string[], partitions: number | undefined, configs: [string, string][], ifExists: boolean): Promise<number> {
  const todo = await existingTopics(admin, names, ifExists);
  if (!todo) return Exit.FAILED;
  if (todo.length === 0) return Exit.OK;
  if (partitions !== undefined) {
    const meta = await admin.fetchTopicMetadata({ topics: todo });
    const grow = meta.topics.filter((t) => t.partitions.length !== partitions);
    for (const t of grow) {
      if (t.partitions.length > partitions) {
        process.stderr.write(`error: topic "${t.name}" has ${t.partitions.length} partitions; partitions can only be added, not removed\n`);
        return Exit.FAILED;
      }
    }
    if (grow.length) await admin.createPartitions({ topicPartitions: grow.map((t) => ({ topic: t.name, count: partitions })) });
    for (const n of todo) out(`Topic ${n} has ${partitions} partitions.\n`);
  }
  if (configs.length) {
    await admin.alterConfigs({ resources: todo.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configEntries: configs.map(([k, v]) => ({ name: k, value: v })) })) });
    for (const n of todo) out(`Updated configs of topic ${n}: ${configs.map(([k, v]) => `${k}=${v}`).join(', ')}.\n`);
  }
  return Exit.OK;
}
