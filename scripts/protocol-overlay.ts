// Changes scripts/gen-protocol.ts applies over ../shared/kafka-protocol's message definitions
// before generating src/protocol/generated/*. Structure only, in our own form: per message, the
// version range it ends up with and the fields added or changed (no prose).
//
// Why: ../shared's spec predates Kafka 4.1, where the share-group APIs (KIP-932) became stable at
// v1 (v0, the early-access version, was removed). Kafka 4.1's KafkaShareConsumer and Admin speak
// v1 only. Fjord keeps v0 and adds v1, whose layout differs from v0 only as listed here
// (ShareGroupHeartbeat, ShareGroupDescribe and ShareAcknowledge v1 are laid out as their v0).
//
// Each entry names the spec's current validVersions (`from`): when ../shared is updated to a
// spec that already has these versions the generator stops with a message, and the entry goes.

/** A field as the generator reads it (version strings as in the spec: "0", "1+", "0-3"). */
export interface OverlayField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  default?: string | number | boolean;
}

export interface OverlayChange {
  /** Dotted field names from the message's top, e.g. `Topics.Partitions.PartitionMaxBytes`. */
  path: string;
  versions?: string;
  nullableVersions?: string;
}

export interface OverlayAddition {
  /** The sibling the new field follows (dotted path, as `path` above). */
  after: string;
  field: OverlayField;
}

export interface MessageOverlay {
  /** The spec's validVersions this entry applies to. */
  from: string;
  validVersions: string;
  add?: OverlayAddition[];
  change?: OverlayChange[];
}

export const PROTOCOL_OVERLAY: Readonly<Record<string, MessageOverlay>> = {
  ShareGroupHeartbeatRequest: { from: '0', validVersions: '0-1' },
  ShareGroupHeartbeatResponse: { from: '0', validVersions: '0-1' },
  ShareGroupDescribeRequest: { from: '0', validVersions: '0-1' },
  ShareGroupDescribeResponse: { from: '0', validVersions: '0-1' },
  ShareFetchRequest: {
    from: '0',
    validVersions: '0-1',
    add: [
      { after: 'MaxBytes', field: { name: 'MaxRecords', type: 'int32', versions: '1+' } },
      { after: 'MaxRecords', field: { name: 'BatchSize', type: 'int32', versions: '1+' } },
    ],
    change: [{ path: 'Topics.Partitions.PartitionMaxBytes', versions: '0' }],
  },
  ShareFetchResponse: {
    from: '0',
    validVersions: '0-1',
    add: [{ after: 'ErrorMessage', field: { name: 'AcquisitionLockTimeoutMs', type: 'int32', versions: '1+' } }],
    change: [{ path: 'Responses.Partitions.Records', nullableVersions: '0' }],
  },
  ShareAcknowledgeRequest: { from: '0', validVersions: '0-1' },
  ShareAcknowledgeResponse: { from: '0', validVersions: '0-1' },
};
