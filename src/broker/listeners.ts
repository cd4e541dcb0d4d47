// Named listeners, as Kafka has them: `NAME://host:port`, each with a security protocol
// (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) taken from listener.security.protocol.map or, when
// the name is not mapped, from the name itself. advertised.listeners tells clients where to
// connect per listener; a client is always answered with the address of the listener it came in
// through. Without `listeners`, the old --host/--port/--advertised-* settings make one PLAINTEXT
// listener, as before.
//
// The safe default lives here too: a listener that lets clients in without authentication
// (PLAINTEXT, or SSL without ssl.client.auth=required) may bind only loopback addresses unless
// fjord.allow.unauthenticated.network says otherwise.
import type { BrokerConfig } from './config.js';

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];

/** A setting that cannot be used as given: one line that says what and how to fix it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The listener a connection came in through, as ConnectionInfo.listener carries it. The
 * advertised address is known once the listener is bound (port 0 picks one).
 */
export interface ListenerInfo {
  /** Upper-case name: PLAINTEXT, SSL, INTERNAL, ... */
  readonly name: string;
  readonly securityProtocol: SecurityProtocol;
  /** What Metadata, FindCoordinator and DescribeCluster tell a client of this listener. */
  advertisedHost: string;
  advertisedPort: number;
}

/** One listener to bind: its name and protocol, the hosts (one port for all), and what to advertise. */
export interface ListenerSpec {
  readonly name: string;
  readonly securityProtocol: SecurityProtocol;
  /** '' = every interface (Kafka's `PLAINTEXT://:9092`). */
  readonly hosts: string[];
  readonly port: number;
  /** From advertised.listeners (or --advertised-host/-port); absent parts come from the bind. */
  readonly advertisedHost?: string;
  readonly advertisedPort?: number;
}

export interface Endpoint {
  name: string;
  host: string;
  port: number;
}

const NAME = /^[A-Za-z0-9_-]+$/;

/** Parses `NAME://host:port` (host may be empty, or an IPv6 address in brackets). */
export function parseEndpoint(text: string, what = 'listener'): Endpoint {
  const m = /^([^:/]+):\/\/(\[[^\]]*\]|[^:[\]]*):(\d+)$/.exec(text.trim());
  if (!m || !NAME.test(m[1])) throw new ConfigError(`${what} "${text}" is not NAME://host:port (e.g. PLAINTEXT://127.0.0.1:9092, SSL://[::1]:9093)`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`${what} "${text}" has port ${port}, past 65535`);
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  return { name: m[1].toUpperCase(), host, port };
}

/** listener.security.protocol.map items (`NAME:PROTOCOL`) into a map of upper-case names. */
export function parseProtocolMap(items: readonly string[]): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>();
  for (const item of items) {
    const m = /^([A-Za-z0-9_-]+):([A-Za-z_]+)$/.exec(item.trim());
    const protocol = m ? SECURITY_PROTOCOLS.find((p) => p === m[2].toUpperCase()) : undefined;
    if (!m || !protocol) throw new ConfigError(`listener.security.protocol.map item "${item}" is not NAME:PROTOCOL with PROTOCOL one of ${SECURITY_PROTOCOLS.join(', ')}`);
    map.set(m[1].toUpperCase(), protocol);
  }
  return map;
}

/** The security protocol of a listener name: mapped, or the name itself when it is a protocol. */
function protocolOf(name: string, map: Map<string, SecurityProtocol>): SecurityProtocol {
  const mapped = map.get(name) ?? SECURITY_PROTOCOLS.find((p) => p === name);
  if (!mapped) throw new ConfigError(`listener ${name} has no security protocol: name it after one (${SECURITY_PROTOCOLS.join(', ')}) or map it in listener.security.protocol.map (e.g. ${name}:PLAINTEXT)`);
  return mapped;
}

/** The listeners a config asks for, checked (unique names and ports, advertised names known). */
export function resolveListeners(config: BrokerConfig): ListenerSpec[] {
  const map = parseProtocolMap(config.listenerSecurityProtocolMap ?? []);
  if (config.listeners === undefined) {
    if (config.advertisedListeners !== undefined) throw new ConfigError('advertised.listeners needs listeners (without listeners, use --advertised-host/--advertised-port)');
    return [{ name: 'PLAINTEXT', securityProtocol: protocolOf('PLAINTEXT', map), hosts: config.listenHosts, port: config.port, advertisedHost: config.advertisedHost, advertisedPort: config.advertisedPort }];
  }
  if (config.advertisedHost !== undefined || config.advertisedPort !== undefined) {
    throw new ConfigError('--advertised-host/--advertised-port apply without listeners; with listeners, use advertised.listeners (NAME://host:port)');
  }
  const endpoints = config.listeners.map((l) => parseEndpoint(l));
  if (endpoints.length === 0) throw new ConfigError('listeners is empty');
  const advertised = new Map<string, Endpoint>();
  for (const a of (config.advertisedListeners ?? []).map((l) => parseEndpoint(l, 'advertised listener'))) {
    if (!endpoints.some((e) => e.name === a.name)) throw new ConfigError(`advertised listener ${a.name} is not one of the listeners (${endpoints.map((e) => e.name).join(', ')})`);
    if (advertised.has(a.name)) throw new ConfigError(`advertised listener ${a.name} is given twice`);
    advertised.set(a.name, a);
  }
  const specs: ListenerSpec[] = [];
  for (const e of endpoints) {
    if (specs.some((s) => s.name === e.name)) throw new ConfigError(`listener ${e.name} is given twice (each listener needs its own name)`);
    if (e.port !== 0 && specs.some((s) => s.port === e.port)) throw new ConfigError(`listeners ${specs.find((s) => s.port === e.port)!.name} and ${e.name} both use port ${e.port}`);
    const a = advertised.get(e.name);
    specs.push({
      name: e.name, securityProtocol: protocolOf(e.name, map), hosts: [e.host], port: e.port,
      advertisedHost: a && a.host !== '' ? a.host : undefined, advertisedPort: a && a.port !== 0 ? a.port : undefined,
    });
  }
  return specs;
}

/** Whether a listen host is a loopback address (names other than localhost count as network). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

/** Whether clients of a listener are authenticated before they may send requests. */
export function authenticates(protocol: SecurityProtocol, clientAuth: 'none' | 'requested' | 'required'): boolean {
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') return true;
  return protocol === 'SSL' && clientAuth === 'required';
}

/**
 * The one-line refusal for listeners that would let unauthenticated clients in from the network,
 * or null when every listener is safe (or the operator said so).
 */
export function unauthenticatedNetworkProblem(specs: readonly ListenerSpec[], config: BrokerConfig, clientAuthOf: (listener: string) => 'none' | 'requested' | 'required'): string | null {
  if (config.allowUnauthenticatedNetwork) return null;
  for (const s of specs) {
    if (authenticates(s.securityProtocol, clientAuthOf(s.name))) continue;
    const open = s.hosts.find((h) => !isLoopback(h));
    if (open === undefined) continue;
    const how = s.securityProtocol === 'SSL' ? 'SSL without ssl.client.auth=required' : s.securityProtocol;
    return `refusing to listen on ${open === '' ? 'every interface' : open} with listener ${s.name} (${how}): any client that reaches it could read, change and delete every topic. Listen on a loopback address, use ssl.client.auth=required or a SASL listener, or accept the risk with --allow-unauthenticated-network (fjord.allow.unauthenticated.network=true)`;
  }
  return null;
}

/**
 * The SASL mechanisms a listener offers: its listener.name.<name>.sasl.enabled.mechanisms, else the
 * broker's sasl.enabled.mechanisms (as Kafka resolves them).
 */
export function saslMechanismsFor(config: Pick<BrokerConfig, 'saslEnabledMechanisms' | 'listenerSsl'>, listener: string): readonly string[] {
  return config.listenerSsl?.[listener.toUpperCase()]?.saslEnabledMechanisms ?? config.saslEnabledMechanisms;
}

/**
 * A SASL_PLAINTEXT or SASL_SSL listener needs at least one enabled mechanism (Kafka's default,
 * GSSAPI, is not served): without one it is refused rather than served with nothing to log in with.
 */
export function unservedProtocolProblem(specs: readonly ListenerSpec[], mechanismsFor: (listener: string) => readonly string[]): string | null {
  const sasl = specs.find((s) => (s.securityProtocol === 'SASL_PLAINTEXT' || s.securityProtocol === 'SASL_SSL') && mechanismsFor(s.name).length === 0);
  return sasl
    ? `listener ${sasl.name} uses ${sasl.securityProtocol}, but no SASL mechanism is enabled: set sasl.enabled.mechanisms (--sasl-enabled-mechanisms SCRAM-SHA-256,SCRAM-SHA-512) or listener.name.${sasl.name.toLowerCase()}.sasl.enabled.mechanisms`
    : null;
}

/** A wildcard or empty listen address is not something a client can connect to. */
export function advertisable(host: string | undefined): string {
  if (!host || host === '0.0.0.0' || host === '::') return 'localhost';
  return host;
}
