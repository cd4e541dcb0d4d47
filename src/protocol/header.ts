// Request and response headers. Request header v0/v1/v2; response header v0/v1.
// The request header's client id is a classic nullable string even in the flexible header v2.
import { apiSchema, ApiKey } from './apis.js';
import { inRange } from './schema.js';
import { Reader, Writer } from './primitives.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** Whether a request of this key/version uses request header v2 (flexible). Unknown APIs: no. */
export function requestIsFlexible(apiKey: number, apiVersion: number): boolean {
  const schema = apiSchema(apiKey);
  return !!schema && inRange(schema.request.flexibleVersions, apiVersion);
}

/** Response header v1 (with tagged fields) for flexible versions — except ApiVersions, always v0. */
export function responseHeaderIsFlexible(apiKey: number, apiVersion: number): boolean {
  if (apiKey === ApiKey.ApiVersions) return false;
  const schema = apiSchema(apiKey);
  return !!schema && inRange(schema.response.flexibleVersions, apiVersion);
}

/** Reads the request header; leaves the reader at the start of the body. */
export function readRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = r.string();
  if (requestIsFlexible(apiKey, apiVersion)) {
    const count = r.uvarint();
    for (let i = 0; i < count; i++) {
      r.uvarint();
      r.raw(r.uvarint());
    }
  }
  return { apiKey, apiVersion, correlationId, clientId };
}

export function writeRequestHeader(w: Writer, h: RequestHeader): void {
  w.int16(h.apiKey).int16(h.apiVersion).int32(h.correlationId).string(h.clientId);
  if (requestIsFlexible(h.apiKey, h.apiVersion)) w.uvarint(0);
}

export function writeResponseHeader(w: Writer, apiKey: number, apiVersion: number, correlationId: number): void {
  w.int32(correlationId);
  if (responseHeaderIsFlexible(apiKey, apiVersion)) w.uvarint(0);
}

export function readResponseHeader(r: Reader, apiKey: number, apiVersion: number): number {
  const correlationId = r.int32();
  if (responseHeaderIsFlexible(apiKey, apiVersion)) {
    const count = r.uvarint();
    for (let i = 0; i < count; i++) {
      r.uvarint();
      r.raw(r.uvarint());
    }
  }
  return correlationId;
}
