// `fjord groups list|describe|reset-offsets|delete`, also in kafka-consumer-groups.sh form
// (`fjord groups --describe --group g --bootstrap-server localhost:9092`).
import { AssignerProtocol, type Admin, type GroupDescription } from '../client/index.js';
import { COMMON_HELP, Exit, UsageError, int, kafkaFor, list, out, parse, parseTime, runCommand, str, table, type Values } from './common.js';

export const GROUPS_HELP = `Usage: fjord groups <list|describe|reset-offsets|delete> [group...] [options]

Inspect and manage consumer groups.

  fjord groups list [--type [classic,consumer]] [--state [Stable,Empty,...]]
  fjord groups describe <group...> [--offsets | --members [--verbose] | --state]
                                          committed offset, end offset and lag per partition,
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
Describe options (kafka-consumer-groups' layouts):
  --offsets                  GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID
                             HOST CLIENT-ID (what --describe prints by default)
  --members                  one line per member: CONSUMER-ID, HOST, CLIENT-ID, #PARTITIONS;
                             with --verbose also its epochs and current and target assignment
  --state                    COORDINATOR (ID), ASSIGNMENT-STRATEGY, STATE, #MEMBERS
List options:
  --type [types]             add the TYPE column (Classic or Consumer); with a list, only those
  --state [states]           add the STATE column; with a list (Stable,Empty,...), only those
Other options:
  --json                     list/describe: print JSON
${COMMON_HELP}
Kafka's flags work too: --list, --describe, --delete, --reset-offsets, --group <g>, --all-groups,
--dry-run.

Examples:
  fjord groups list
  fjord groups describe billing
  fjord groups describe billing --members --verbose
  fjord groups list --type --state Stable
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
  json: { type: 'boolean' }, members: { type: 'boolean' }, offsets: { type: 'boolean' }, state: { type: 'string' }, type: { type: 'string' },
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

/** `--state` and `--type` may stand alone (show the column) or take a list (filter by it). */
function optionalValues(argv: string[]): string[] {
  return argv.map((a, i) => ((a === '--state' || a === '--type') && (argv[i + 1] === undefined || argv[i + 1].startsWith('-')) ? `${a}=` : a));
}

export function runGroups(argv: string[]): Promise<number> {
  return runCommand('groups', GROUPS_HELP, argv, async () => {
    const { values, positionals } = parse(optionalValues(argv), OPTIONS);
    const { action, groups } = actionOf(values, positionals);
    const allGroups = !!values['all-groups'];
    if (action !== 'list' && groups.length === 0 && !allGroups) throw new UsageError(`groups ${action} needs a group name`);
    if (action === 'reset-offsets') validateReset(values, groups);
    const view = describeView(values, action);
    if (action === 'list') listFilters(values);
    // With --members, --verbose means kafka-consumer-groups' wider member table, not client logging.
    const admin = kafkaFor(view === 'members' ? { ...values, verbose: false } : values).admin();
    await admin.connect();
    try {
      const names = allGroups ? (await admin.listGroups()).groups.map((g) => g.groupId).sort() : groups;
      switch (action) {
        case 'list': return await listGroups(admin, values, argv.includes('--list'));
        case 'describe': return view === 'fjord' || values.json ? await describe(admin, names, !!values.json) : await describeKafka(admin, names, view, !!values.verbose);
        case 'reset-offsets': return await reset(admin, names[0], values);
        case 'delete': return await remove(admin, names);
      }
    } finally {
      await admin.disconnect();
    }
  });
}

type View = 'fjord' | 'offsets' | 'members' | 'state';

function describeView(values: Values, action: Action): View {
  const chosen = (['offsets', 'members', 'state'] as const).filter((v) => values[v] !== undefined && values[v] !== false);
  if (action !== 'describe') {
    if (values.offsets || values.members) throw new UsageError('--offsets and --members go with describe');
    return 'fjord';
  }
  if (values.type !== undefined) throw new UsageError('--type goes with list');
  if (chosen.length > 1) throw new UsageError('use one of --offsets, --members and --state');
  if (chosen[0] === 'state' && values.state !== '') throw new UsageError('describe --state takes no value (list --state <states> filters)');
  if (values.json && chosen.length) throw new UsageError('--json prints the whole description; leave out --offsets, --members and --state');
  // kafka-consumer-groups --describe prints the offsets layout; `fjord groups describe` its own.
  return chosen[0] ?? (values.describe ? 'offsets' : 'fjord');
}

const TYPES: Record<string, string> = { classic: 'Classic', consumer: 'Consumer', share: 'Share', streams: 'Streams' };
const STATES = ['PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead', 'Empty', 'Assigning', 'Reconciling', 'NotReady'];
const commaList = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);

function listFilters(values: Values): { types: string[] | null; states: string[] | null } {
  const typeArg = str(values.type);
  const stateArg = str(values.state);
  const types = typeArg === undefined ? null : commaList(typeArg).map((t) => {
    const known = TYPES[t.toLowerCase()];
    if (!known) throw new UsageError(`--type takes ${Object.keys(TYPES).join(', ')}, not "${t}"`);
    return known;
  });
  const states = stateArg === undefined ? null : commaList(stateArg).map((st) => {
    const known = STATES.find((k) => k.toLowerCase() === st.toLowerCase());
    if (!known) throw new UsageError(`--state takes ${STATES.join(', ')}, not "${st}"`);
    return known;
  });
  return { types, states };
}

/** A group's type as kafka-consumer-groups prints it: Classic or Consumer (ListGroups v5). */
const typeOf = (g: { groupType?: string; protocolType: string }) => (g.groupType ? TYPES[g.groupType.toLowerCase()] ?? g.groupType : 'Classic');

/** Kafka's column layout: each column as wide as its widest cell (at least `min`), one space apart. */
function kafkaTable(columns: { head: string; min: number }[], rows: string[][], last: 'bare' | 'padded' | 'padded+space'): string {
  const widths = columns.map((c, i) => Math.max(c.min, c.head.length, ...rows.map((r) => r[i].length)));
  const cell = (c: string, i: number, n: number) => (i < n - 1 || last === 'padded+space' ? `${c.padEnd(widths[i])} ` : last === 'padded' ? c.padEnd(widths[i]) : c);
  const line = (cells: string[]) => cells.map((c, i) => cell(c, i, cells.length)).join('');
  return [columns.map((c) => c.head), ...rows].map(line).join('\n') + '\n';
}

async function listGroups(admin: Admin, values: Values, kafkaForm: boolean): Promise<number> {
  const { groups } = await admin.listGroups();
  const { types, states } = listFilters(values);
  const shown = groups
    .filter((g) => (types === null || types.length === 0 || types.includes(typeOf(g))) && (states === null || states.length === 0 || states.includes(g.groupState ?? '')))
    .sort((a, b) => a.groupId.localeCompare(b.groupId));
  if (values.json) {
    out(`${JSON.stringify(shown.map((g) => ({ group: g.groupId, type: typeOf(g), state: g.groupState ?? null, protocolType: g.protocolType })))}\n`);
    return Exit.OK;
  }
  if (types !== null || states !== null) {
    // kafka-consumer-groups --list --type/--state: the group column 10 wider than the longest name.
    const width = Math.max(15, ...shown.map((g) => g.groupId.length)) + 10;
    const cols = [{ head: 'GROUP', min: width }, ...(types !== null ? [{ head: 'TYPE', min: 20 }] : []), ...(states !== null ? [{ head: 'STATE', min: 20 }] : [])];
    out(kafkaTable(cols, shown.map((g) => [g.groupId, ...(types !== null ? [typeOf(g)] : []), ...(states !== null ? [g.groupState ?? '-'] : [])]), 'padded'));
  } else if (kafkaForm) {
    for (const g of shown) out(`${g.groupId}\n`);
  } else if (shown.length) {
    out(table(['GROUP', 'TYPE', 'STATE'], shown.map((g) => [g.groupId, typeOf(g), g.groupState ?? '-'])));
  }
  return Exit.OK;
}

/** "topic:0,1;other:2" as kafka-consumer-groups prints an assignment, "-" when empty. */
function assignmentText(buf: Buffer | undefined): { text: string; count: number } {
  const a = buf && buf.length ? AssignerProtocol.MemberAssignment.decode(buf) : null;
  const topics = Object.entries(a?.assignment ?? {}).filter(([, parts]) => parts.length).sort(([x], [y]) => x.localeCompare(y));
  const count = topics.reduce((n, [, parts]) => n + parts.length, 0);
  return { text: topics.length ? topics.map(([t, parts]) => `${t}:${[...parts].sort((x, y) => x - y).join(',')}`).join(';') : '-', count };
}

/** describe --offsets / --members / --state in kafka-consumer-groups' layouts. */
async function describeKafka(admin: Admin, groups: string[], view: 'offsets' | 'members' | 'state', verbose: boolean): Promise<number> {
  const { groups: described } = await admin.describeGroups(groups);
  let missing = 0;
  const nodes = view === 'state' ? new Map((await admin.describeCluster()).brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`])) : new Map<number, string>();
  for (const g of described) {
    if (g.state === 'Dead') {
      process.stderr.write(`Error: Consumer group '${g.groupId}' does not exist.\n`);
      missing++;
      continue;
    }
    if (g.members.length === 0) out(`\nConsumer group '${g.groupId}' has no active members.\n`);
    out('\n');
    if (view === 'state') {
      const coordinator = g.coordinator === undefined ? '-' : `${nodes.get(g.coordinator) ?? '?'}  (${g.coordinator})`;
      out(kafkaTable([{ head: 'GROUP', min: 15 }, { head: 'COORDINATOR (ID)', min: 25 }, { head: 'ASSIGNMENT-STRATEGY', min: 20 }, { head: 'STATE', min: 20 }, { head: '#MEMBERS', min: 0 }],
        [[g.groupId, coordinator, g.protocol || '-', g.state, String(g.members.length)]], 'bare'));
    } else if (view === 'members') {
      const withInstance = g.members.some((m) => m.groupInstanceId);
      const consumerGroup = g.members.some((m) => m.memberEpoch !== undefined);
      const rows = g.members.map((m) => {
        const current = assignmentText(m.memberAssignment);
        const target = assignmentText(m.targetAssignment);
        return [
          g.groupId, m.memberId, ...(withInstance ? [m.groupInstanceId ?? '-'] : []), m.clientHost, m.clientId, String(current.count),
          ...(verbose ? [m.memberEpoch !== undefined ? String(m.memberEpoch) : '-', current.text, g.assignmentEpoch !== undefined ? String(g.assignmentEpoch) : '-', consumerGroup ? target.text : '-'] : []),
        ];
      });
      out(kafkaTable([
        { head: 'GROUP', min: 15 }, { head: 'CONSUMER-ID', min: 15 }, ...(withInstance ? [{ head: 'GROUP-INSTANCE-ID', min: 17 }] : []),
        { head: 'HOST', min: 15 }, { head: 'CLIENT-ID', min: 15 }, { head: '#PARTITIONS', min: 15 },
        ...(verbose ? [{ head: 'CURRENT-EPOCH', min: 15 }, { head: 'CURRENT-ASSIGNMENT', min: 20 }, { head: 'TARGET-EPOCH', min: 15 }, { head: 'TARGET-ASSIGNMENT', min: 20 }] : []),
      ], rows, verbose ? 'padded' : 'padded+space'));
    } else {
      const rows = (await offsetRows(admin, g)).map((r) => [g.groupId, r.topic, String(r.partition), r.committed === null ? '-' : String(r.committed), String(r.end), r.lag === null ? '-' : String(r.lag), r.memberId ?? '-', r.host ?? '-', r.clientId ?? '-']);
      out(kafkaTable([
        { head: 'GROUP', min: 15 }, { head: 'TOPIC', min: 15 }, { head: 'PARTITION', min: 10 }, { head: 'CURRENT-OFFSET', min: 15 },
        { head: 'LOG-END-OFFSET', min: 15 }, { head: 'LAG', min: 15 }, { head: 'CONSUMER-ID', min: 15 }, { head: 'HOST', min: 15 }, { head: 'CLIENT-ID', min: 0 },
      ], rows, 'bare'));
    }
  }
  return missing ? Exit.FAILED : Exit.OK;
}

interface Row { topic: string; partition: number; committed: number | null; end: number; lag: number | null; memberId: string | null; host: string | null; clientId: string | null }

/** Per partition: committed offset, end offset, lag and owner (partitions neither committed nor assigned are left out). */
async function offsetRows(admin: Admin, g: GroupDescription): Promise<Row[]> {
  const committed = await admin.fetchOffsets({ groupId: g.groupId });
  const owners = new Map<string, { memberId: string; host: string; clientId: string }>();
  for (const m of g.members) {
    const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
    if (!a) continue;
    for (const [topic, parts] of Object.entries(a.assignment)) for (const p of parts) owners.set(`${topic}\u0000${p}`, { memberId: m.memberId, host: m.clientHost, clientId: m.clientId });
  }
  const topics = new Set<string>([...committed.map((t) => t.topic), ...[...owners.keys()].map((k) => k.split('\u0000')[0])]);
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
  return rows;
}


async function describe(admin: Admin, groups: string[], json: boolean): Promise<number> {
  const { groups: described } = await admin.describeGroups(groups);
  const result = [];
  let missing = 0;
  for (const g of described) {
    if (g.state === 'Dead') {
      process.stderr.write(`error: consumer group "${g.groupId}" does not exist\n`);
      missing++;
      continue;
    }
    result.push({ group: g.groupId, state: g.state, protocol: g.protocol, members: g.members.length, partitions: await offsetRows(admin, g) });
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
