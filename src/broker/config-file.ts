// `fjord server --config server.properties`: a Java properties file (Kafka's server.properties)
// read into BrokerConfig through the one settings table. Kafka's names map onto the settings that
// have them; Fjord's own settings are `fjord.` and their flag with dots (fjord.data.dir);
// listener.name.<name>.ssl.* are per-listener ssl settings. Every other line is returned as
// unsupported, for the one warning at start; a supported key with a bad value throws.
import type { BrokerConfig, ListenerSslOverrides } from './config.js';
import { BROKER_SETTING_KEYS, LISTENER_SSL_KEYS, listenerPrefixed, parseBrokerSetting, propertyName, setListenerSsl } from './settings.js';

export interface Property {
  key: string;
  value: string;
  /** 1-based line where the property starts. */
  line: number;
}

/**
 * Parses the text of a .properties file as java.util.Properties.load does: comment lines start
 * with # or !; a line ending in an odd number of backslashes goes on at the next line (whose
 * leading blanks are dropped); the key ends at the first unescaped =, : or blank, and one = or :
 * with blanks around it separates it from the value; \t \n \r \f \uXXXX and \<any> are escapes.
 */
export function parseProperties(text: string): Property[] {
  const lines = text.split(/\r\n|\r|\n/);
  const out: Property[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let logical = lines[i].replace(/^[ \t\f]+/, '');
    if (logical === '' || logical[0] === '#' || logical[0] === '!') continue;
    // Continuations: an odd run of trailing backslashes.
    while (/(?:^|[^\\])(?:\\\\)*\\$/.test(logical) && i + 1 < lines.length) {
      i++;
      logical = logical.slice(0, -1) + lines[i].replace(/^[ \t\f]+/, '');
    }
    if (/(?:^|[^\\])(?:\\\\)*\\$/.test(logical)) logical = logical.slice(0, -1); // a backslash at the end of the file
    let k = 0;
    while (k < logical.length) {
      const ch = logical[k];
      if (ch === '\\') k += 2;
      else if (ch === '=' || ch === ':' || ch === ' ' || ch === '\t' || ch === '\f') break;
      else k++;
    }
    const rawKey = logical.slice(0, Math.min(k, logical.length));
    let v = k;
    while (v < logical.length && /[ \t\f]/.test(logical[v])) v++;
    if (v < logical.length && (logical[v] === '=' || logical[v] === ':')) v++;
    while (v < logical.length && /[ \t\f]/.test(logical[v])) v++;
    out.push({ key: unescape(rawKey), value: unescape(logical.slice(v)), line: start + 1 });
  }
  return out;
}

function unescape(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== '\\' || i + 1 >= text.length) {
      out += ch;
      continue;
    }
    const next = text[++i];
    if (next === 't') out += '\t';
    else if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else if (next === 'f') out += '\f';
    else if (next === 'u') {
      const hex = text.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new Error(`malformed \\uXXXX escape "\\u${hex}"`);
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else out += next;
  }
  return out;
}

export interface ConfigFileResult {
  config: Partial<BrokerConfig>;
  /** Keys Fjord does not support, in file order (reported in one warning at start, never ignored silently). */
  unsupported: string[];
}

/**
 * Maps properties onto BrokerConfig. A supported key with a bad value throws an Error starting
 * with `<file>:<line>:`; a key given twice keeps the last value, as Java does.
 */
export function configFromProperties(props: readonly Property[], file: string): ConfigFileResult {
  const byName = new Map<string, keyof BrokerConfig>();
  for (const key of BROKER_SETTING_KEYS) byName.set(propertyName(key), key);
  const config: Partial<BrokerConfig> = {};
  const listenerSsl: Record<string, ListenerSslOverrides> = {};
  const unsupported: string[] = [];
  for (const p of props) {
    const where = `${file}:${p.line}: ${p.key}`;
    try {
      const key = byName.get(p.key);
      const prefixed = listenerPrefixed(p.key);
      if (key !== undefined && key !== 'listenerSsl') parseBrokerSetting(config, key, p.value, where);
      else if (prefixed && Object.hasOwn(LISTENER_SSL_KEYS, prefixed.setting)) setListenerSsl(listenerSsl, prefixed.listener, prefixed.setting, p.value, where);
      else if (!unsupported.includes(p.key)) unsupported.push(p.key);
    } catch (err) {
      const message = (err as Error).message;
      throw new Error(message.startsWith(where) ? message : `${where}: ${message}`);
    }
  }
  if (Object.keys(listenerSsl).length > 0) config.listenerSsl = listenerSsl;
  return { config, unsupported };
}
