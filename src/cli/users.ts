// `fjord users list|add|delete`: SCRAM users, over the Kafka protocol (DescribeUserScramCredentials /
// AlterUserScramCredentials through the client's admin). `add` salts and hashes the password here
// (admin.upsertUserScramCredentials): it never reaches the broker.
import { readFileSync } from 'node:fs';
import type { SaslOptions, ScramMechanismName } from '../client/index.js';
import { COMMON_HELP, Exit, UsageError, kafkaFor, out, parse, runCommand, str, table, type Values } from './common.js';

export const USERS_HELP = `Usage: fjord users <list|add|delete> [user] [options]

Manage SCRAM users (the credentials SASL PLAIN and SCRAM-SHA-256/512 check).

  fjord users list [--json]
  fjord users add <user> (--password <p> | --password-file <f>) [--mechanism <m>] [--iterations <n>]
  fjord users delete <user> [--mechanism <m>]

Options:
  --password <p>             add: the password (visible in the process list: prefer --password-file
                             or FJORD_USER_PASSWORD)
  --password-file <f>        add: read the password from this file (its first line; - for stdin)
  --mechanism <m>            SCRAM-SHA-256 or SCRAM-SHA-512; add: default SCRAM-SHA-256 (repeatable
                             as a comma list); delete: default every mechanism the user has
  --iterations <n>           add: PBKDF2 iterations, 4096..16384 (default 4096)
  --json                     list: print JSON
Authenticating to a broker that requires SASL:
  --sasl-mechanism <m>       PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (FJORD_SASL_MECHANISM)
  --sasl-username <u>        (FJORD_SASL_USERNAME)
  --sasl-password <p>        (FJORD_SASL_PASSWORD)
${COMMON_HELP}
Examples:
  fjord users add alice --password-file alice.pw
  fjord users add bob --password bob-secret --mechanism SCRAM-SHA-256,SCRAM-SHA-512
  fjord users list
  fjord users delete bob --mechanism SCRAM-SHA-512

Exit codes: 0 done, 1 refused (unknown user, bad credential, failed authentication), 2 bad usage,
3 no broker.
`;

const OPTIONS = {
  password: { type: 'string' }, 'password-file': { type: 'string' }, mechanism: { type: 'string' }, iterations: { type: 'string' }, json: { type: 'boolean' },
  'sasl-mechanism': { type: 'string' }, 'sasl-username': { type: 'string' }, 'sasl-password': { type: 'string' },
} as const;

const MECHANISMS: readonly ScramMechanismName[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

function mechanismsOf(v: string | undefined): ScramMechanismName[] | undefined {
  if (v === undefined) return undefined;
  const items = v.split(',').map((m) => m.trim().toUpperCase()).filter(Boolean);
  const known = items.map((m) => MECHANISMS.find((k) => k === m));
  const bad = items.find((_, i) => known[i] === undefined);
  if (bad !== undefined || items.length === 0) throw new UsageError(`--mechanism takes SCRAM-SHA-256 and/or SCRAM-SHA-512, not "${v}"`);
  return known.filter((m): m is ScramMechanismName => m !== undefined);
}

/** The client's SASL settings from the flags or the environment; none when no mechanism is given. */
export function saslOf(values: Values): SaslOptions | undefined {
  const mechanism = (str(values['sasl-mechanism']) ?? process.env.FJORD_SASL_MECHANISM)?.toLowerCase();
  if (mechanism === undefined || mechanism === '') return undefined;
  const username = str(values['sasl-username']) ?? process.env.FJORD_SASL_USERNAME;
  const password = str(values['sasl-password']) ?? process.env.FJORD_SASL_PASSWORD;
  if (!username || password === undefined) throw new UsageError('--sasl-mechanism needs --sasl-username and --sasl-password');
  if (mechanism === 'plain' || mechanism === 'scram-sha-256' || mechanism === 'scram-sha-512') return { mechanism, username, password };
  throw new UsageError(`--sasl-mechanism takes PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, not "${mechanism}"`);
}

function passwordOf(values: Values): string {
  const given = str(values.password) ?? process.env.FJORD_USER_PASSWORD;
  const file = str(values['password-file']);
  if (given !== undefined && file !== undefined) throw new UsageError('give --password or --password-file, not both');
  let password = given;
  if (file !== undefined) {
    try {
      password = readFileSync(file === '-' ? 0 : file, 'utf8').split(/\r?\n/)[0];
    } catch (err) {
      throw new UsageError(`cannot read --password-file ${file}: ${(err as Error).message}`);
    }
  }
  if (password === undefined) throw new UsageError('users add needs --password <p> or --password-file <f>');
  if (password === '') throw new UsageError('the password must not be empty');
  return password;
}

export function runUsers(argv: string[]): Promise<number> {
  return runCommand('users', USERS_HELP, argv, async () => {
    const { values, positionals } = parse(argv, OPTIONS);
    const [action, user, ...extra] = positionals;
    if (!action) throw new UsageError('say what to do: list, add or delete');
    if (!['list', 'add', 'delete'].includes(action)) throw new UsageError(`unknown action "${action}" (list, add, delete)`);
    if (action !== 'list' && !user) throw new UsageError(`users ${action} needs a user name`);
    if (extra.length > 0 || (action === 'list' && user)) throw new UsageError(`unexpected argument "${action === 'list' ? user : extra[0]}"`);
    const mechanisms = mechanismsOf(str(values.mechanism));
    const iterText = str(values.iterations);
    const iterations = iterText === undefined ? undefined : Number(iterText);
    if (iterations !== undefined && (!Number.isInteger(iterations) || iterations < 4096 || iterations > 16384)) {
      throw new UsageError(`--iterations must be an integer from 4096 to 16384, not "${iterText}"`);
    }
    const password = action === 'add' ? passwordOf(values) : '';
    const admin = kafkaFor(values, saslOf(values)).admin();
    await admin.connect();
    try {
      if (action === 'list') {
        const users = await admin.describeUserScramCredentials();
        if (values.json) out(`${JSON.stringify(users, null, 2)}\n`);
        else out(table(['USER', 'MECHANISM', 'ITERATIONS'], users.flatMap((u) => u.credentials.map((c) => [u.user, c.mechanism, c.iterations]))));
        return Exit.OK;
      }
      if (action === 'add') {
        const chosen = mechanisms ?? ['SCRAM-SHA-256'];
        await admin.upsertUserScramCredentials(chosen.map((mechanism) => ({ user: user!, mechanism, password, iterations })));
        out(`Saved the ${chosen.join(' and ')} credential${chosen.length > 1 ? 's' : ''} of ${user}.\n`);
        return Exit.OK;
      }
      const has = (await admin.describeUserScramCredentials([user!]))[0].credentials.map((c) => c.mechanism).filter((m): m is ScramMechanismName => m !== 'UNKNOWN');
      const chosen = mechanisms ?? has;
      await admin.deleteUserScramCredentials(chosen.map((mechanism) => ({ user: user!, mechanism })));
      out(`Deleted the ${chosen.join(' and ')} credential${chosen.length > 1 ? 's' : ''} of ${user}.\n`);
      return Exit.OK;
    } finally {
      await admin.disconnect();
    }
  });
}
