// Names kafkajs programs import that Fjord's own modules do not define under that name: kafkajs'
// enums as const objects, each with a type of the same name holding its values (so both
// `CompressionTypes.GZIP` and an annotation `compression: CompressionTypes` compile), the
// CompressionCodecs table, and (from events.ts) the types of instrumentation events.
import { compress, decompress } from '../protocol/compression.js';
import { ConfigResourceTypes as configResourceTypes, ConfigSource as configSource, ResourceTypes as resourceTypes } from './admin-types.js';
import {
  AdminEvents as adminEvents, ConsumerEvents as consumerEvents, ProducerEvents as producerEvents,
} from './instrumentation.js';
import { CompressionTypes as compressionTypes } from './producer.js';
import {
  MemberAssignment as memberAssignment, MemberMetadata as memberMetadata, type MemberAssignmentData, type MemberSubscription,
} from './consumer/assigners.js';

type ValueOf<T> = T[keyof T];

export const CompressionTypes = compressionTypes;
export type CompressionTypes = ValueOf<typeof CompressionTypes>;

export const ConfigResourceTypes = configResourceTypes;
export type ConfigResourceTypes = ValueOf<typeof ConfigResourceTypes>;

export const ConfigSource = configSource;
export type ConfigSource = ValueOf<typeof ConfigSource>;

/** kafkajs 1.x's ResourceTypes; the same numbers as AclResourceTypes. */
export const ResourceTypes = resourceTypes;
export type ResourceTypes = ValueOf<typeof ResourceTypes>;

export const AclResourceTypes = resourceTypes;
export type AclResourceTypes = ValueOf<typeof AclResourceTypes>;

export const AclOperationTypes = {
  UNKNOWN: 0, ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8,
  CLUSTER_ACTION: 9, DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12,
} as const;
export type AclOperationTypes = ValueOf<typeof AclOperationTypes>;

export const AclPermissionTypes = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;
export type AclPermissionTypes = ValueOf<typeof AclPermissionTypes>;

export const ResourcePatternTypes = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export type ResourcePatternTypes = ValueOf<typeof ResourcePatternTypes>;

/** A codec in kafkajs' shape: compress gets kafkajs' Encoder (only its `buffer` is read). */
export interface CompressionCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}
export type CompressionCodecFactory = () => CompressionCodec;

const builtIn = (codec: number): CompressionCodecFactory => () => ({
  compress: (encoder) => compress(codec, encoder.buffer),
  decompress: (buffer) => decompress(codec, buffer),
});

/**
 * kafkajs ships only GZIP and makes programs register the others here. Fjord has all four built in:
 * the table holds them, and an assignment (e.g. `CompressionCodecs[CompressionTypes.Snappy] =
 * SnappyCodec`) is accepted but Fjord's producer and consumer keep using the built-in codecs.
 */
export const CompressionCodecs: Record<Exclude<CompressionTypes, 0>, CompressionCodecFactory> = {
  [CompressionTypes.GZIP]: builtIn(CompressionTypes.GZIP),
  [CompressionTypes.Snappy]: builtIn(CompressionTypes.Snappy),
  [CompressionTypes.LZ4]: builtIn(CompressionTypes.LZ4),
  [CompressionTypes.ZSTD]: builtIn(CompressionTypes.ZSTD),
};

// --- instrumentation events -----------------------------------------------------------------------

export const ProducerEvents = producerEvents;
export type ProducerEvents = typeof ProducerEvents;
export const ConsumerEvents = consumerEvents;
export type ConsumerEvents = typeof ConsumerEvents;
export const AdminEvents = adminEvents;
export type AdminEvents = typeof AdminEvents;

export type * from './events.js';

// --- AssignerProtocol ------------------------------------------------------------------------------

/** A member's JoinGroup metadata; `userData` is an empty buffer when the member sent none. */
export type MemberMetadata = Omit<MemberSubscription, 'userData'> & { userData: Buffer };
/** A member's SyncGroup assignment; `userData` is an empty buffer when the leader sent none. */
export type MemberAssignment = Omit<MemberAssignmentData, 'userData'> & { userData: Buffer };

export interface ISerializer<T> {
  encode(value: T): Buffer;
  decode(buffer: Buffer): T | null;
}

/**
 * kafkajs' AssignerProtocol: the consumer protocol's bytes. Encoders take kafkajs' objects (missing
 * fields get their defaults); decoders give kafkajs' types, so `decode(b)?.userData` is a Buffer.
 */
export const AssignerProtocol = {
  MemberMetadata: {
    encode: (value: Partial<MemberSubscription> & { topics: string[] }): Buffer => memberMetadata.encode(value),
    decode: (buffer: Buffer): MemberMetadata => {
      const decoded = memberMetadata.decode(buffer);
      return { ...decoded, userData: decoded.userData ?? Buffer.alloc(0) };
    },
  },
  MemberAssignment: {
    encode: (value: Partial<MemberAssignmentData> & Pick<MemberAssignmentData, 'assignment'>): Buffer => memberAssignment.encode(value),
    /** null for an empty buffer (a member that got nothing). */
    decode: (buffer: Buffer | null): MemberAssignment | null => {
      const decoded = memberAssignment.decode(buffer);
      return decoded && { ...decoded, userData: decoded.userData ?? Buffer.alloc(0) };
    },
  },
};
