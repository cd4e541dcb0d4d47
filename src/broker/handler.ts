// The shape of one Kafka API handler. Each API lives in its own file under handlers/ and is
// listed once in registry.ts, which drives both dispatch and the ApiVersions response.
import type { Message } from '../protocol/codec.js';
import type { RequestHeader } from '../protocol/header.js';
import type { Broker } from './broker.js';

export interface RequestContext {
  readonly broker: Broker;
  readonly header: RequestHeader;
  /** apiVersion of this request (same as header.apiVersion). */
  readonly version: number;
  /** Remote address of the client, as Kafka reports it in DescribeGroups ("/127.0.0.1"). */
  readonly clientHost: string;
  readonly connectionId: number;
}

export interface ApiHandler {
  readonly apiKey: number;
  /** Inclusive range of versions this handler implements (and ApiVersions advertises). */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** Returns the response body, or null for no response at all (Produce with acks=0). */
  handle(ctx: RequestContext, request: Message): Promise<Message | null> | Message | null;
}

/** Closes the connection without a response (Kafka's answer to some malformed requests). */
export class CloseConnection extends Error {
  override name = 'CloseConnection';
}
