// `fjord groups list|describe|reset-offsets|delete`, also in kafka-consumer-groups.sh form
// (`fjord groups --describe --group g --bootstrap-server localhost:9092`).
import { AssignerProtocol, type Admin } from '../client/index.js';
import { COMMON_HELP, Exit, UsageError, int, kafkaFor, list, out, parse, parseTime, runCommand, str, table, type Values } from './common.js';

export const GROUPS_HELP = `Usage: fjord groups <list|describe|reset-offsets|delete> [group...] [options]

Inspect and manage consumer groups.

  fjord groups list
  fjord groups describe <group...>        committed offset, end offset and lag per partition,
                                          and which member owns it
  fjord groups reset-offsets <group> --topic <t> <target> [--execute]
  fjord groups delete <group...>

Reset targets (one of):
  --to-earliest              the first offset still in the log
  --to-latest                the end of the log (skip everything not yet read)
  --to-offset <n>            this offset
  --shift-by <n>             the committed offset plus n (negative to go back)
  --to-datetime <ms|ISO>     the first offset at or after this time
Reset options:
  --topic <t>                topic to reset (repeatable); --all-topics for every committed topic
  --partition <n>            only these partitions (repeatable)
  --execute                  apply the change; without it the plan is only printed (dry run)
Other options:
  --json                     list/describe: print JSON
${COMMON_HELP}
Kafka's flags work too: --list, --describe, --delete, --reset-offsets, --group <g>, --all-groups,
--dry-run.

Examples:
  fjord groups list
  fjord groups describe billing
  fjord groups reset-offsets billing --topic orders --to-earliest --execute
  fjord groups reset-offsets billing --topic orders --shift-by -100
  fjord groups delete billing
  fjord groups --describe --group billing --bootstrap-server localhost:9092

The group must have no running members to reset its offsets or delete it.
Exit codes: 0 done, 1 refused (unknown group, group still active), 2 bad usage, 3 no broker.
`;

const OPTIONS = {
  list: { type: 'boolean' }, describe: { type: 'boolean' }, delete: { type: 'boolean' }, 'reset-offsets': { type: 'boolean' },
  group: { type: 'string', multiple: true }, 'all-groups': { type: 'boolean' },
  topic: { type: 'string', multiple: true }, 'all-topics': { type: 'boolean' }, partition: { type: 'string', multiple: true },
  'to-earliest': { type: 'boolean' }, 'to-latest': { type: 'boolean' }, 'to-offset': { type: 'string' },
  'shift-by': { type: 'string' }, 'to-datetime': { type: 'string' }, execute: { type: 'boolean' }, 'dry-run': { type: 'boolean' },
  json: { type: 'boolean' }, members: { type: 'boolean' }, offsets: { type: 'boolean' }, state: { type: 'boolean' },
} as const;

const ACTIONS = ['list', 'describe', 'reset-offsets', 'delete'] as const;
type Action = (typeof ACTIONS)[number];

function actionOf(values: Values, positionals: string[]): { action: Action; groups: string[] } {
  const flagged = ACTIONS.filter((a) => values[a]);
  if (flagged.length > 1) throw new UsageError(`only one of ${flagged.map((a) => `--${a}`).join(', ')} at a time`);
  let action: Action | undefined = flagged[0];
  let rest = positionals;
  if (!action) {
    if (positionals.length === 0) throw new UsageError('say what to do: list, describe, reset-offsets or delete');
    if (!(ACTIONS as readonly string[]).includes(positionals[0])) throw new UsageError(`unknown action "${positionals[0]}" (list, describe, reset-offsets, delete)`);
    action = positionals[0] as Action;
    rest = positionals.slice(1);
  }
  return { action, groups: [...rest, ...list(values.group)] };
}

export function runGroups(argv: string[]): Promise<number> {
  return runCommand('groups', GROUPS_HELP, argv, async () => {
    const { values, positionals } = parse(argv, OPTIONS);
    const { action, groups } = actionOf(values, positionals);
    const allGroups = !!values['all-groups'];
    if (action !== 'list' && groups.length === 0 && !allGroups) throw new UsageError(`groups ${action} needs a group name`);
    if (action === 'reset-offsets') validateReset(values, groups);
    const admin = kafkaFor(values).admin();
    await admin.connect();
    try {
      const names = allGroups ? (await admin.listGroups()).groups.map((g) => g.groupId).sort() : groups;
      switch (action) {
        case 'list': return await listGroups(admin, !!values.json);
        case 'describe': return await describe(admin, names, !!values.json);
        case 'reset-offsets': return await reset(admin, names[0], values);
        case 'delete': return await remove(admin, names);
      }
    } finally {
      await admin.disconnect();
    }
  });
}

async function listGroups(admin: Admin, json: boolean): Promise<number> {
  const { groups } = await admin.listGroups();
  groups.sort((a, b) => a.groupId.localeCompare(b.groupId));
  if (json) {
    out(`${JSON.stringify(groups.map((g) => ({ group: g.groupId, state: g.groupState ?? null, protocolType: g.protocolType })))}\n`);
  } else if (groups.length) {
    out(table(['GROUP', 'STATE', 'TYPE'], groups.map((g) => [g.groupId, g.groupState ?? '-', g.protocolType || '-'])));
  }
  return Exit.OK;
}

interface Row { topic: string; partition: number; committed: number | null; end: number; lag: number | null; memberId: string | null; host: string | null; clientId: string | null }

async function describe(admin: Admin, groups: string[], json: boolean): Promise<number> {
  const { groups: described } = await admin.describeGroups(groups);
  const result = [];
  let missing = 0;
  for (const g of described) {
    const committed = await admin.fetchOffsets({ groupId: g.groupId });
    const owners = new Map<string, { memberId: string; host: string; clientId: string }>();
    for (const m of g.members) {
      const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      if (!a) continue;
      for (const [topic, parts] of Object.entries(a.assignment)) for (const p of parts) owners.set(`${topic}\u0000${p}`, { memberId: m.memberId, host: m.clientHost, clientId: m.clientId });
    }
    const topics = new Set<string>([...committed.map((t) => t.topic), ...[...owners.keys()].map((k) => k.split('\u0000')[0])]);
    if (g.state === 'Dead') {
      process.stderr.write(`error: consumer group "${g.groupId}" does not exist\n`);
      missing++;
      continue;
    }
    const rows: Row[] = [];
    for (const topic of [...topics].sort()) {
      const ends = await admin.fetchTopicOffsets(topic).catch(() => []);
      const parts = new Set<number>([...ends.map((e) => e.partition)]);
      const c = committed.find((t) => t.topic === topic);
      for (const p of c?.partitions ?? []) parts.add(p.partition);
      for (const partition of [...parts].sort((a, b) => a - b)) {
        const cp = c?.partitions.find((p) => p.partition === partition);
        const owner = owners.get(`${topic}\u0000${partition}`);
        if (!owner && (!cp || cp.offset === '-1')) continue;
        const end = Number(ends.find((e) => e.partition === partition)?.high ?? 0);
        const committedOffset = cp && Number(cp.offset) >= 0 ? Number(cp.offset) : null;
        rows.push({
          topic, partition, committed: committedOffset, end, lag: committedOffset === null ? null : Math.max(0, end - committedOffset),
          memberId: owner?.memberId ?? null, host: owner?.host ?? null, clientId: owner?.clientId ?? null,
        });
      }
    }
    result.push({ group: g.groupId, state: g.state, protocol: g.protocol, members: g.members.length, partitions: rows });
  }
  if (json) {
    out(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    result.forEach((g, i) => {
      if (i > 0) out('\n');
      out(`Group ${g.group}: ${g.state}, ${g.members} member${g.members === 1 ? '' : 's'}${g.protocol ? `, assignor ${g.protocol}` : ''}\n`);
      if (g.partitions.length === 0) {
        out('  (no committed offsets and no assigned partitions)\n');
        return;
      }
      out(table(['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
        g.partitions.map((r) => [r.topic, r.partition, r.committed ?? '-', r.end, r.lag ?? '-', r.memberId ?? '-', r.host ?? '-', r.clientId ?? '-'])));
    });
  }
  return missing ? Exit.FAILED : Exit.OK;
}

function validateReset(values: Values, groups: string[]): void {
  if (groups.length !== 1) throw new UsageError('reset-offsets works on one group at a time');
  const targets = ['to-earliest', 'to-latest', 'to-offset', 'shift-by', 'to-datetime'].filter((t) => values[t] !== undefined && values[t] !== false);
  if (targets.length !== 1) throw new UsageError('reset-offsets needs exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime');
  if (list(values.topic).length === 0 && !values['all-topics']) throw new UsageError('reset-offsets needs --topic <t> (or --all-topics)');
  if (values.execute && values['dry-run']) throw new UsageError('use --execute or --dry-run, not both');
  int('--to-offset', str(values['to-offset']), 0);
  int('--shift-by', str(values['shift-by']), Number.MIN_SAFE_INTEGER);
  if (values['to-datetime'] !== undefined) parseTime('--to-datetime', str(values['to-datetime'])!);
}

async function reset(admin: Admin, groupId: string, values: Values): Promise<number> {
  const only = list(values.partition).map((p) => int('--partition', p, 0)!);
  let topics = list(values.topic);
  const committedAll = await admin.fetchOffsets({ groupId });
  if (values['all-topics']) topics = committedAll.map((t) => t.topic);
  const plan: { topic: string; partition: number; current: number | null; next: number }[] = [];
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const current = committedAll.find((t) => t.topic === topic);
    const at = values['to-datetime'] !== undefined ? await admin.fetchTopicOffsetsByTimestamp(topic, parseTime('--to-datetime', str(values['to-datetime'])!)) : null;
    for (const e of ends) {
      if (only.length && !only.includes(e.partition)) continue;
      const low = Number(e.low);
      const high = Number(e.high);
      const cur = current?.partitions.find((p) => p.partition === e.partition);
      const curOffset = cur && Number(cur.offset) >= 0 ? Number(cur.offset) : null;
      let next: number;
      if (values['to-earliest']) next = low;
      else if (values['to-latest']) next = high;
      else if (values['to-offset'] !== undefined) next = Number(str(values['to-offset']));
      else if (values['shift-by'] !== undefined) next = (curOffset ?? low) + Number(str(values['shift-by']));
      else next = Number(at!.find((o) => o.partition === e.partition)!.offset);
      plan.push({ topic, partition: e.partition, current: curOffset, next: Math.min(Math.max(next, low), high) });
    }
  }
  out(table(['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'], plan.map((p) => [p.topic, p.partition, p.current ?? '-', p.next])));
  if (!values.execute) {
    process.stderr.write('Dry run: nothing changed. Add --execute to apply.\n');
    return Exit.OK;
  }
  for (const topic of new Set(plan.map((p) => p.topic))) {
    await admin.setOffsets({ groupId, topic, partitions: plan.filter((p) => p.topic === topic).map((p) => ({ partition: p.partition, offset: String(p.next) })) });
  }
  process.stderr.write(`Offsets of group ${groupId} updated.\n`);
  return Exit.OK;
}

async function remove(admin: Admin, groups: string[]): Promise<number> {
  try {
    await admin.deleteGroups(groups);
  } catch (err) {
    const results = (err as { groups?: { groupId: string; errorCode: number }[] }).groups;
    if (!results) throw err;
    for (const r of results) {
      if (r.errorCode === 0) out(`Deleted group ${r.groupId}.\n`);
      else if (r.errorCode === 69) process.stderr.write(`error: consumer group "${r.groupId}" does not exist\n`);
      else if (r.errorCode === 68) process.stderr.write(`error: consumer group "${r.groupId}" still has running members; stop them first\n`);
      else process.stderr.write(`error: could not delete group "${r.groupId}" (code ${r.errorCode})\n`);
    }
    return Exit.FAILED;
  }
  for (const g of groups) out(`Deleted group ${g}.\n`);
  return Exit.OK;
}
