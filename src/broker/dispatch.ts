// One request frame in, its response frame out: the request header, the registry's handler for the
// API, the version check, decoding, the handler itself, and encoding. The server (server.ts) only
// moves frames and keeps their order; this is the only place the registry meets a connection.
import { ApiKey, apiName } from '../protocol/apis.js';
import { compile, type DecodedMessage } from '../protocol/codec.js';
import { inRange, type FieldSchema, type MessageSchema } from '../protocol/schema.js';
import { readRequestHeader, writeResponseHeader, type RequestHeader } from '../protocol/header.js';
import { Reader, Writer } from '../protocol/primitives.js';
import { CloseConnection, type BrokerServices, type HandlerResult, type RequestContext } from './handler.js';
import { findHandler, supportedApis, unsupportedVersionResponse, type RegisteredHandler } from './registry.js';
import type { ConnectionInfo, Dispatch, ResponseFrame } from './server.js';

/**
 * True when a request decoded at this version may hold parts of its frame: `bytes` and `records`
 * fields are decoded as subarrays of it (Produce's records, JoinGroup's metadata, ...). Other
 * requests copy what they keep (strings, numbers), so their frame can leave the RequestBudget
 * once decoded (as Kafka frees such request buffers right after parsing).
 */
const keepsFrame = new Map<MessageSchema, Map<number, boolean>>();
function requestKeepsFrame(schema: MessageSchema, version: number): boolean {
  let byVersion = keepsFrame.get(schema);
  if (!byVersion) keepsFrame.set(schema, (byVersion = new Map()));
  let keeps = byVersion.get(version);
  if (keeps === undefined) {
    const walk = (fields: readonly FieldSchema[]): boolean => fields.some((f) =>
      inRange(f.versions, version) && (/^(\[\])?(bytes|records)$/.test(f.type) || (f.fields !== undefined && walk(f.fields))));
    keeps = walk(schema.fields);
    byVersion.set(version, keeps);
  }
  return keeps;
}

/** Told of every answered request (metrics.ts implements it); calls must be cheap and synchronous. */
export interface RequestObserver {
  /** `response` is null for a request answered with nothing (acks=0) or on a closed connection. */
  requestDone(apiKey: number, version: number, request: object, response: object | null, seconds: number): void;
}

export function createDispatcher(services: BrokerServices, observer?: RequestObserver): Dispatch {
  const servedApis = supportedApis({ shareGroups: !services.cluster.multiNode });
  const served = new Set(servedApis.map((api) => api.apiKey));
  // Timing costs a clock read per request: only when metrics or request logging want it.
  const logRequests = services.logger.isLevelEnabled?.('debug') === true;
  const timed = observer !== undefined || logRequests;
  /** A request answered (before its response is encoded): metrics, and the debug line per request. */
  const done = (header: RequestHeader, conn: ConnectionInfo, request: object, body: object | null, started: number): void => {
    const seconds = (performance.now() - started) / 1000;
    observer?.requestDone(header.apiKey, header.apiVersion, request, body, seconds);
    if (logRequests) {
      const api = apiName(header.apiKey);
      services.logger.debug(`request ${api} v${header.apiVersion} from ${conn.clientHost}`, {
        api, version: header.apiVersion, correlationId: header.correlationId, clientId: header.clientId, principal: conn.principal,
        clientHost: conn.clientHost, listener: conn.listener.name, latencyMs: Math.round(seconds * 1e6) / 1000,
      });
    }
  };
  /** A handler's failure as the connection sees it: CloseConnection with the reason to log, if any. */
  const failure = (header: RequestHeader, conn: ConnectionInfo, err: unknown): CloseConnection => {
    const api = `${apiName(header.apiKey)} v${header.apiVersion}`;
    if (err instanceof CloseConnection) return new CloseConnection(`${api}: ${err.message}`);
    services.logger.error(`${api} from ${conn.clientHost} failed: ${(err as Error)?.stack ?? err}`);
    return new CloseConnection('');
  };

  const respond = (handler: RegisteredHandler, header: RequestHeader, bodyVersion: number, body: object | null, conn: ConnectionInfo): ResponseFrame => {
    if (body === null || conn.isClosed) return null; // a closed connection writes nothing
    const w = new Writer(256);
    w.int32(0); // size, patched below
    writeResponseHeader(w, header.apiKey, header.apiVersion, header.correlationId);
    try {
      compile(handler.schema.response, bodyVersion).encode(w, body);
    } catch (err) {
      throw failure(header, conn, err);
    }
    const total = w.length;
    const chunks = w.finishChunks();
    chunks[0].writeInt32BE(total - 4, 0);
    return chunks;
  };

  /** A bare SASL token after SaslHandshake v0: its answer, size-prefixed, or a closed connection. */
  const rawToken = async (frame: Buffer, conn: ConnectionInfo): Promise<ResponseFrame> => {
    const answer = await services.sasl.session(conn).rawToken(Buffer.from(frame));
    if (answer === null) return null; // failed: the connection closes (v0 has no error answer)
    const size = Buffer.alloc(4);
    size.writeInt32BE(answer.length);
    return [size, answer];
  };

  return (frame, conn, releaseFrame) => {
    const sasl = services.sasl.session(conn);
    if (sasl.rawTokens) return rawToken(frame, conn);
    const reader = new Reader(frame);
    let header: RequestHeader;
    try {
      header = readRequestHeader(reader);
    } catch (err) {
      throw new CloseConnection(`malformed request header (${(err as Error).message})`);
    }
    const refused = sasl.admit(header.apiKey);
    if (refused !== null) throw new CloseConnection(refused);
    const handler = findHandler(header.apiKey);
    if (!handler) throw new CloseConnection(`unknown API key ${header.apiKey}`);
    if (!served.has(header.apiKey)) throw new CloseConnection(`${apiName(header.apiKey)} is not served here (share groups need a single node, not cluster mode)`);
    if (header.apiVersion < handler.minVersion || header.apiVersion > handler.maxVersion) {
      // Clients send their newest ApiVersions first; answer in v0 with the ranges we support.
      if (header.apiKey === ApiKey.ApiVersions) return respond(handler, header, 0, unsupportedVersionResponse(servedApis), conn);
      throw new CloseConnection(`unsupported version ${header.apiVersion} of ${apiName(header.apiKey)} (supported ${handler.minVersion}-${handler.maxVersion})`);
    }
    let request: DecodedMessage;
    try {
      request = compile(handler.schema.request, header.apiVersion).decode(reader);
    } catch (err) {
      throw new CloseConnection(`malformed ${apiName(header.apiKey)} v${header.apiVersion} request (${(err as Error).message})`);
    }
    if (!requestKeepsFrame(handler.schema.request, header.apiVersion)) releaseFrame();
    const ctx: RequestContext = { services, servedApis, header, version: header.apiVersion, clientHost: conn.clientHost, connectionId: conn.id, connection: conn, sasl, principal: conn.principal };
    const started = timed ? performance.now() : 0;
    let result: HandlerResult<object>;
    try {
      result = services.quotas.run(ctx, request, frame.length, () => handler.handle(ctx, request));
    } catch (err) {
      throw failure(header, conn, err);
    }
    if (result instanceof Promise) {
      return result.then(
        (body) => {
          if (timed) done(header, conn, request, body, started);
          return respond(handler, header, header.apiVersion, body, conn);
        },
        (err) => { throw failure(header, conn, err); },
      );
    }
    if (timed) done(header, conn, request, result, started);
    return respond(handler, header, header.apiVersion, result, conn);
  };
}
