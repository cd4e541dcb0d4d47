// Changes scripts/gen-protocol.ts applies over ../shared/kafka-protocol's message definitions
// before generating src/protocol/generated/*. Structure only, in our own form: per message, the
// version range it ends up with and the fields added or changed (no prose).
//
// Why: ../shared's spec predates Kafka 4.1, where the share-group APIs (KIP-932) became stable at
// v1 (v0, the early-access version, was removed). Kafka 4.1's KafkaShareConsumer and Admin speak
// v1 only. Fjord keeps v0 and adds v1, whose layout differs from v0 only as listed here
// (ShareGroupHeartbeat, ShareGroupDescribe and ShareAcknowledge v1 are laid out as their v0), and
// ShareFetch / ShareAcknowledge v2 (Kafka 4.2: ShareAcquireMode, IsRenewAck, the Renew
// acknowledge type; what franz-go v1.22 needs before it uses share groups).
//
// Each entry names the spec's current validVersions (`from`): when ../shared is updated to a
// spec that already has these versions the generator stops with a message, and the entry goes.
//
// PROTOCOL_ADDITIONS: whole messages ../shared does not have at all (the share-group admin APIs
// 90–92 at v0, as Kafka 4.1's Admin sends them), in the spec's own shape. When ../shared gains a
// message of the same name the generator stops with a message, and the addition goes.

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
    validVersions: '0-2',
    add: [
      { after: 'MaxBytes', field: { name: 'MaxRecords', type: 'int32', versions: '1+' } },
      { after: 'MaxRecords', field: { name: 'BatchSize', type: 'int32', versions: '1+' } },
      { after: 'BatchSize', field: { name: 'ShareAcquireMode', type: 'int8', versions: '2+' } },
      { after: 'ShareAcquireMode', field: { name: 'IsRenewAck', type: 'bool', versions: '2+' } },
    ],
    change: [{ path: 'Topics.Partitions.PartitionMaxBytes', versions: '0' }],
  },
  ShareFetchResponse: {
    from: '0',
    validVersions: '0-2',
    add: [{ after: 'ErrorMessage', field: { name: 'AcquisitionLockTimeoutMs', type: 'int32', versions: '1+' } }],
    change: [{ path: 'Responses.Partitions.Records', nullableVersions: '0' }],
  },
  ShareAcknowledgeRequest: {
    from: '0',
    validVersions: '0-2',
    add: [{ after: 'ShareSessionEpoch', field: { name: 'IsRenewAck', type: 'bool', versions: '2+' } }],
  },
  ShareAcknowledgeResponse: {
    from: '0',
    validVersions: '0-2',
    add: [{ after: 'ErrorMessage', field: { name: 'AcquisitionLockTimeoutMs', type: 'int32', versions: '2+' } }],
  },
};

/** A field of an added message (nested fields for a struct or struct array, as in the spec). */
export interface AddedField extends OverlayField {
  fields?: AddedField[];
}

/** A message ../shared lacks, as the spec would define it (structure only). */
export interface AddedMessage {
  apiKey: number;
  type: 'request' | 'response';
  name: string;
  validVersions: string;
  flexibleVersions: string;
  listeners?: string[];
  fields: AddedField[];
}

const f = (name: string, type: string, more: Partial<AddedField> = {}): AddedField => ({ name, type, versions: '0+', ...more });
const nullableString = (name: string): AddedField => f(name, 'string', { nullableVersions: '0+', default: 'null' });

export const PROTOCOL_ADDITIONS: readonly AddedMessage[] = [
  {
    apiKey: 90, type: 'request', name: 'DescribeShareGroupOffsetsRequest', validVersions: '0', flexibleVersions: '0+', listeners: ['broker'],
    fields: [
      f('Groups', '[]DescribeShareGroupOffsetsRequestGroup', { fields: [
        f('GroupId', 'string'),
        f('Topics', '[]DescribeShareGroupOffsetsRequestTopic', { nullableVersions: '0+', fields: [
          f('TopicName', 'string'),
          f('Partitions', '[]int32'),
        ] }),
      ] }),
    ],
  },
  {
    apiKey: 90, type: 'response', name: 'DescribeShareGroupOffsetsResponse', validVersions: '0', flexibleVersions: '0+',
    fields: [
      f('ThrottleTimeMs', 'int32'),
      f('Groups', '[]DescribeShareGroupOffsetsResponseGroup', { fields: [
        f('GroupId', 'string'),
        f('Topics', '[]DescribeShareGroupOffsetsResponseTopic', { fields: [
          f('TopicName', 'string'),
          f('TopicId', 'uuid'),
          f('Partitions', '[]DescribeShareGroupOffsetsResponsePartition', { fields: [
            f('PartitionIndex', 'int32'),
            f('StartOffset', 'int64'),
            f('LeaderEpoch', 'int32'),
            f('ErrorCode', 'int16'),
            nullableString('ErrorMessage'),
          ] }),
        ] }),
        f('ErrorCode', 'int16'),
        nullableString('ErrorMessage'),
      ] }),
    ],
  },
  {
    apiKey: 91, type: 'request', name: 'AlterShareGroupOffsetsRequest', validVersions: '0', flexibleVersions: '0+', listeners: ['broker'],
    fields: [
      f('GroupId', 'string'),
      f('Topics', '[]AlterShareGroupOffsetsRequestTopic', { fields: [
        f('TopicName', 'string'),
        f('Partitions', '[]AlterShareGroupOffsetsRequestPartition', { fields: [
          f('PartitionIndex', 'int32'),
          f('StartOffset', 'int64'),
        ] }),
      ] }),
    ],
  },
  {
    apiKey: 91, type: 'response', name: 'AlterShareGroupOffsetsResponse', validVersions: '0', flexibleVersions: '0+',
    fields: [
      f('ThrottleTimeMs', 'int32'),
      f('ErrorCode', 'int16'),
      nullableString('ErrorMessage'),
      f('Responses', '[]AlterShareGroupOffsetsResponseTopic', { fields: [
        f('TopicName', 'string'),
        f('TopicId', 'uuid'),
        f('Partitions', '[]AlterShareGroupOffsetsResponsePartition', { fields: [
          f('PartitionIndex', 'int32'),
          f('ErrorCode', 'int16'),
          nullableString('ErrorMessage'),
        ] }),
      ] }),
    ],
  },
  {
    apiKey: 92, type: 'request', name: 'DeleteShareGroupOffsetsRequest', validVersions: '0', flexibleVersions: '0+', listeners: ['broker'],
    fields: [
      f('GroupId', 'string'),
      f('Topics', '[]DeleteShareGroupOffsetsRequestTopic', { fields: [f('TopicName', 'string')] }),
    ],
  },
  {
    apiKey: 92, type: 'response', name: 'DeleteShareGroupOffsetsResponse', validVersions: '0', flexibleVersions: '0+',
    fields: [
      f('ThrottleTimeMs', 'int32'),
      f('ErrorCode', 'int16'),
      nullableString('ErrorMessage'),
      f('Responses', '[]DeleteShareGroupOffsetsResponseTopic', { fields: [
        f('TopicName', 'string'),
        f('TopicId', 'uuid'),
        f('ErrorCode', 'int16'),
        nullableString('ErrorMessage'),
      ] }),
    ],
  },
];
