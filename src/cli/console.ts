// `fjord console`: the web console alone, against any Kafka-compatible cluster (Apache Kafka
// included), through Fjord's client. The same console `fjord server` serves at / of its HTTP port.
import { BROKER_SETTINGS, parseBrokerSetting } from '../broker/settings.js';
import type { BrokerConfig } from '../broker/config.js';
import { ConsoleServer, type LoginMechanism } from '../console/console.js';
import { fjordVersion } from '../console/mount.js';
import { serveConsole } from '../console/standalone.js';
import { loadCommandConfig } from './command-config.js';
import { COMMON_HELP, Exit, UsageError, brokersOf, int, out, parse, runCommand, str } from './common.js';

export const CONSOLE_HELP = `Usage: fjord console [options]

Serves the web console (docs/console.md) for the cluster at --bootstrap-server, Fjord or any
other Kafka-compatible broker, until interrupted.

Options:
  --http-port <port>         port to serve on (default 9081; 0 picks a free one)
  --http-host <host>         host to bind (default 127.0.0.1; anyone who reaches it gets the
                             console, so keep it on loopback or behind a login: --sasl-mechanism)
  --read-only                refuse every change (create, delete, produce, configs, offset resets)
  --sasl-mechanism <m>       the cluster needs SASL: each browser session logs in with its own
                             username and password over PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
                             (default: the mechanism of --command-config's sasl.mechanism)
  --max-records <n>          records one message-browser request returns at most (default ${BROKER_SETTINGS.consoleMaxRecords.default})
  --scan-limit <n>           records a key/value search reads at most (default ${BROKER_SETTINGS.consoleScanLimit.default})
${COMMON_HELP}
--command-config gives TLS (ssl.*) and the SASL mechanism; its username and password are not
used: every browser session logs in with its own.

Examples:
  fjord console --bootstrap-server localhost:9092
  fjord console -b kafka-1:9092 --http-port 8080 --read-only
  fjord console -b broker:9093 --sasl-mechanism SCRAM-SHA-512
`;

const OPTIONS = {
  'http-port': { type: 'string' }, 'http-host': { type: 'string' }, 'read-only': { type: 'boolean' },
  'sasl-mechanism': { type: 'string' }, 'max-records': { type: 'string' }, 'scan-limit': { type: 'string' },
} as const;

const MECHANISMS: Record<string, LoginMechanism> = { plain: 'plain', 'scram-sha-256': 'scram-sha-256', 'scram-sha-512': 'scram-sha-512' };

export function runConsole(argv: string[]): Promise<number> {
  return runCommand('console', CONSOLE_HELP, argv, async () => {
    const { values, positionals } = parse(argv, OPTIONS, false);
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const configFile = str(values['command-config']) ?? process.env.FJORD_COMMAND_CONFIG;
    const file = configFile ? loadCommandConfig(configFile) : {};
    const flagged = str(values['bootstrap-server']) ?? str(values.brokers) ?? process.env.FJORD_BROKERS;
    const brokers = flagged === undefined && file.brokers ? file.brokers : brokersOf(values);
    const mechanismText = str(values['sasl-mechanism'])?.toLowerCase() ?? file.sasl?.mechanism;
    let login: LoginMechanism | null = null;
    if (mechanismText !== undefined) {
      login = MECHANISMS[mechanismText] ?? null;
      if (login === null) throw new UsageError(`--sasl-mechanism takes PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (a password login), not "${mechanismText}"`);
    }
    const limits: Partial<BrokerConfig> = {};
    try {
      parseBrokerSetting(limits, 'consoleMaxRecords', str(values['max-records']) ?? String(BROKER_SETTINGS.consoleMaxRecords.default), '--max-records');
      parseBrokerSetting(limits, 'consoleScanLimit', str(values['scan-limit']) ?? String(BROKER_SETTINGS.consoleScanLimit.default), '--scan-limit');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const port = int('--http-port', str(values['http-port']) ?? '9081', 0) ?? 9081;
    if (port > 65535) throw new UsageError(`--http-port must be a port (0-65535), not ${port}`);
    const host = str(values['http-host']) ?? '127.0.0.1';
    const console = new ConsoleServer({
      brokers: () => brokers,
      ...(file.ssl ? { ssl: file.ssl } : {}),
      login,
      readOnly: values['read-only'] === true,
      maxRecords: limits.consoleMaxRecords ?? BROKER_SETTINGS.consoleMaxRecords.default,
      scanLimit: limits.consoleScanLimit ?? BROKER_SETTINGS.consoleScanLimit.default,
      requestTimeoutMs: int('--request-timeout', str(values['request-timeout']), 100) ?? file.requestTimeout ?? BROKER_SETTINGS.consoleRequestTimeoutMs.default,
      version: fjordVersion(),
      warn: (m) => process.stderr.write(`${m}\n`),
    });
    let served;
    try {
      served = await serveConsole(console, host, port);
    } catch (err) {
      await console.close();
      const code = (err as NodeJS.ErrnoException).code;
      process.stderr.write(`error: cannot listen on ${host} port ${port}${code === 'EADDRINUSE' ? ' (already in use): pick another with --http-port' : `: ${code ?? (err as Error).message}`}\n`);
      return Exit.FAILED;
    }
    const shown = host.includes(':') ? `[${host}]` : host;
    out(`Fjord console for ${brokers.join(',')} at http://${shown}:${served.port}/${values['read-only'] === true ? ' (read-only)' : ''}${login ? ` (login: SASL ${login.toUpperCase()})` : ''}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await served.close();
    return Exit.OK;
  });
}
