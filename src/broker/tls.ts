// TLS for SSL and SASL_SSL listeners, from PEM only (ssl.keystore.type=PEM, as Kafka 2.7+ takes it):
// the key and certificate chain from ssl.keystore.location (one PEM file holding both) or inline
// (ssl.keystore.key + ssl.keystore.certificate.chain), the CA certificates that client
// certificates must chain to from ssl.truststore.location or inline ssl.truststore.certificates,
// and ssl.client.auth for mutual TLS. listener.name.<name>.ssl.* overrides any of them per listener.
//
// The principal of a client that presented a certificate is its subject as an RFC 2253
// distinguished name ("CN=alice,OU=eng,O=example") passed through ssl.principal.mapping.rules
// (Kafka's syntax: DEFAULT, or RULE:pattern/replacement/ with an optional L or U), as User:<name>.
//
// Files are re-read every ssl reload interval; changed content that makes a working context
// replaces the old one (server.setSecureContext: new connections get it, open ones keep theirs);
// content that does not work keeps the old context and is reported once.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import type { BrokerConfig } from './config.js';
import { ConfigError } from './listeners.js';

/** The ssl.* settings one listener uses (the broker's, with its listener.name.<name>.ssl.* overrides). */
export type SslConfig = Pick<BrokerConfig, 'sslKeystoreType' | 'sslKeystoreLocation' | 'sslKeystoreKey' | 'sslKeystoreCertificateChain' | 'sslKeyPassword'
  | 'sslTruststoreType' | 'sslTruststoreLocation' | 'sslTruststoreCertificates' | 'sslClientAuth' | 'sslPrincipalMappingRules'>;

/** The principal of a connection that has not authenticated (Kafka's KafkaPrincipal.ANONYMOUS). */
export const ANONYMOUS_PRINCIPAL = 'User:ANONYMOUS';

export function sslConfigFor(config: BrokerConfig, listener: string): SslConfig {
  const base: SslConfig = {
    sslKeystoreType: config.sslKeystoreType, sslKeystoreLocation: config.sslKeystoreLocation, sslKeystoreKey: config.sslKeystoreKey,
    sslKeystoreCertificateChain: config.sslKeystoreCertificateChain, sslKeyPassword: config.sslKeyPassword,
    sslTruststoreType: config.sslTruststoreType, sslTruststoreLocation: config.sslTruststoreLocation,
    sslTruststoreCertificates: config.sslTruststoreCertificates, sslClientAuth: config.sslClientAuth, sslPrincipalMappingRules: config.sslPrincipalMappingRules,
  };
  return { ...base, ...(config.listenerSsl?.[listener.toUpperCase()] ?? {}) };
}

/** PEM blocks of a text; inline PEM that lost its line breaks (a properties line continuation) is put back in shape. */
export function pemBlocks(text: string): { label: string; pem: string }[] {
  const out: { label: string; pem: string }[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const label = m[1];
    // Headers (Proc-Type, DEK-Info of old encrypted keys) keep their lines; the base64 is rewrapped.
    const lines = m[2].split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    const headers = lines.filter((l) => l.includes(':'));
    const body = lines.filter((l) => !l.includes(':')).join('').replace(/\s+/g, '');
    const wrapped = body.match(/.{1,64}/g) ?? [];
    const head = headers.length > 0 ? [...headers, ''] : [];
    out.push({ label, pem: [`-----BEGIN ${label}-----`, ...head, ...wrapped, `-----END ${label}-----`, ''].join('\n') });
  }
  return out;
}

const isKey = (label: string) => label.endsWith('PRIVATE KEY');

interface Material {
  options: tls.SecureContextOptions;
  /** The text of every file read, to notice a change. */
  files: string;
}

function readText(path: string, setting: string, where: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${where}: cannot read ${setting} ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** Reads a listener's key, certificates and CAs; throws ConfigError with one line when they do not make a working context. */
function loadMaterial(c: SslConfig, where: string): Material {
  let files = '';
  let key: string[];
  let cert: string[];
  if (c.sslKeystoreLocation !== undefined) {
    if (c.sslKeystoreKey !== undefined || c.sslKeystoreCertificateChain !== undefined) throw new ConfigError(`${where}: give ssl.keystore.location or ssl.keystore.key + ssl.keystore.certificate.chain, not both`);
    const text = readText(c.sslKeystoreLocation, 'ssl.keystore.location', where);
    files += text;
    const blocks = pemBlocks(text);
    key = blocks.filter((b) => isKey(b.label)).map((b) => b.pem);
    cert = blocks.filter((b) => b.label === 'CERTIFICATE').map((b) => b.pem);
    if (key.length !== 1 || cert.length === 0) throw new ConfigError(`${where}: ssl.keystore.location ${c.sslKeystoreLocation} must hold one PEM private key and its certificate chain (found ${key.length} key(s), ${cert.length} certificate(s))`);
  } else if (c.sslKeystoreKey !== undefined && c.sslKeystoreCertificateChain !== undefined) {
    key = pemBlocks(c.sslKeystoreKey).filter((b) => isKey(b.label)).map((b) => b.pem);
    cert = pemBlocks(c.sslKeystoreCertificateChain).filter((b) => b.label === 'CERTIFICATE').map((b) => b.pem);
    if (key.length !== 1 || cert.length === 0) throw new ConfigError(`${where}: ssl.keystore.key must be one PEM private key and ssl.keystore.certificate.chain PEM certificates`);
  } else {
    throw new ConfigError(`${where}: an SSL listener needs ssl.keystore.location (PEM key and certificate chain) or ssl.keystore.key + ssl.keystore.certificate.chain`);
  }
  let ca: string[] | undefined;
  if (c.sslTruststoreLocation !== undefined || c.sslTruststoreCertificates !== undefined) {
    if (c.sslTruststoreLocation !== undefined && c.sslTruststoreCertificates !== undefined) throw new ConfigError(`${where}: give ssl.truststore.location or ssl.truststore.certificates, not both`);
    const text = c.sslTruststoreLocation !== undefined ? readText(c.sslTruststoreLocation, 'ssl.truststore.location', where) : c.sslTruststoreCertificates!;
    if (c.sslTruststoreLocation !== undefined) files += `\0${text}`;
    ca = pemBlocks(text).filter((b) => b.label === 'CERTIFICATE').map((b) => b.pem);
    if (ca.length === 0) throw new ConfigError(`${where}: the truststore holds no PEM certificate`);
  }
  const options: tls.SecureContextOptions = { key: key.join(''), cert: cert.join(''), ...(c.sslKeyPassword !== undefined ? { passphrase: c.sslKeyPassword } : {}), ...(ca ? { ca } : {}) };
  try {
    tls.createSecureContext(options);
  } catch (err) {
    throw new ConfigError(`${where}: the key and certificates do not make a TLS context (${(err as Error).message})`);
  }
  return { options, files };
}

/** What an SSL listener serves with, and re-reads from its files. */
export class ListenerTls {
  readonly clientAuth: SslConfig['sslClientAuth'];
  private readonly rules: PrincipalRule[];
  private current: Material;
  /** Content of the files at the last attempt (good or bad): a bad file is reported once. */
  private attempted: string;

  constructor(private readonly ssl: SslConfig, private readonly where: string) {
    this.clientAuth = ssl.sslClientAuth;
    try {
      this.rules = parsePrincipalRules(ssl.sslPrincipalMappingRules);
    } catch (err) {
      throw new ConfigError(`${where}: ${(err as Error).message}`);
    }
    this.current = loadMaterial(ssl, where);
    this.attempted = this.current.files;
  }

  get secureContextOptions(): tls.SecureContextOptions {
    return this.current.options;
  }

  /** Whether there are files to re-read (inline PEM never changes). */
  get watchesFiles(): boolean {
    return this.ssl.sslKeystoreLocation !== undefined || this.ssl.sslTruststoreLocation !== undefined;
  }

  /**
   * Re-reads the files: new options when they changed and work; null when unchanged; an Error
   * (once per bad content) when they changed but do not work (the old context stays).
   */
  reload(): tls.SecureContextOptions | null | Error {
    let next: Material;
    try {
      next = loadMaterial(this.ssl, this.where);
    } catch (err) {
      // Which content failed: a file that cannot be read counts as its error text.
      const seen = (err as Error).message;
      if (seen === this.attempted) return null;
      this.attempted = seen;
      return err as Error;
    }
    if (next.files === this.current.files) {
      this.attempted = next.files;
      return null;
    }
    this.current = next;
    this.attempted = next.files;
    return next.options;
  }

  /** The principal of a client certificate (the connection's TLS peer), or throws when no rule applies. */
  principalOf(cert: X509Certificate): string {
    const dn = distinguishedName(cert);
    const name = mapPrincipal(dn, this.rules);
    if (name === null) throw new Error(`no ssl.principal.mapping.rules rule applies to "${dn}"`);
    return `User:${name}`;
  }
}

/** A certificate subject as an RFC 2253 distinguished name: most specific first, comma-separated. */
export function distinguishedName(cert: X509Certificate): string {
  // Node gives the subject one RDN a line, in certificate order, values already escaped per RFC 2253.
  return cert.subject.split('\n').filter(Boolean).reverse().join(',');
}

export type PrincipalRule = { kind: 'default' } | { kind: 'rule'; pattern: RegExp; whole: RegExp; replacement: string; caseMode: '' | 'L' | 'U' };

/** Reads up to an unescaped '/', turning "\/" into "/". */
function untilSlash(text: string, from: number): { part: string; end: number } | null {
  let part = '';
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && text[i + 1] === '/') {
      part += '/';
      i++;
    } else if (ch === '/') {
      return { part, end: i };
    } else {
      part += ch;
    }
  }
  return null;
}

/** ssl.principal.mapping.rules: comma-separated DEFAULT and RULE:pattern/replacement/[LU] (a pattern may hold commas). */
export function parsePrincipalRules(text: string): PrincipalRule[] {
  const rules: PrincipalRule[] = [];
  let i = 0;
  const skip = () => {
    while (i < text.length && /[\s,]/.test(text[i])) i++;
  };
  skip();
  while (i < text.length) {
    if (text.startsWith('DEFAULT', i)) {
      rules.push({ kind: 'default' });
      i += 'DEFAULT'.length;
    } else if (text.startsWith('RULE:', i)) {
      const pattern = untilSlash(text, i + 5);
      const replacement = pattern && untilSlash(text, pattern.end + 1);
      if (!pattern || !replacement) throw new Error(`ssl.principal.mapping.rules: "${text.slice(i)}" is not RULE:pattern/replacement/[LU]`);
      i = replacement.end + 1;
      const caseMode = text[i] === 'L' || text[i] === 'U' ? text[i] : '';
      if (caseMode) i++;
      let re: RegExp;
      let whole: RegExp;
      try {
        re = new RegExp(pattern.part, 'g');
        whole = new RegExp(`^(?:${pattern.part})$`);
      } catch (err) {
        throw new Error(`ssl.principal.mapping.rules: bad pattern "${pattern.part}" (${(err as Error).message})`);
      }
      rules.push({ kind: 'rule', pattern: re, whole, replacement: replacement.part, caseMode: caseMode as '' | 'L' | 'U' });
    } else {
      throw new Error(`ssl.principal.mapping.rules: "${text.slice(i)}" is neither DEFAULT nor RULE:pattern/replacement/[LU]`);
    }
    const rest = /^[^,]*/.exec(text.slice(i))![0];
    if (rest.trim() !== '') throw new Error(`ssl.principal.mapping.rules: unexpected "${rest.trim()}" after a rule`);
    i += rest.length;
    skip();
  }
  if (rules.length === 0) throw new Error('ssl.principal.mapping.rules must hold at least one rule (DEFAULT keeps the whole name)');
  return rules;
}

/** The first rule whose pattern matches the whole name decides; DEFAULT keeps the name; null: none applies. */
export function mapPrincipal(dn: string, rules: readonly PrincipalRule[]): string | null {
  for (const rule of rules) {
    if (rule.kind === 'default') return dn;
    if (!rule.whole.test(dn)) continue;
    rule.pattern.lastIndex = 0;
    const name = dn.replace(rule.pattern, rule.replacement);
    return rule.caseMode === 'L' ? name.toLowerCase() : rule.caseMode === 'U' ? name.toUpperCase() : name;
  }
  return null;
}
