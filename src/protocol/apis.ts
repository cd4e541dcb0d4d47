// Lookup of the generated API schemas by key, plus the API keys Fjord's code refers to by name.
import { API_SCHEMAS } from './generated/messages.js';
import type { ApiKeyNumber } from './generated/types.js';
import type { ApiSchema } from './schema.js';

export const ApiKey = {
  Produce: 0, Fetch: 1, ListOffsets: 2, Metadata: 3, OffsetCommit: 8, OffsetFetch: 9,
  FindCoordinator: 10, JoinGroup: 11, Heartbeat: 12, LeaveGroup: 13, SyncGroup: 14,
  DescribeGroups: 15, ListGroups: 16, SaslHandshake: 17, ApiVersions: 18, CreateTopics: 19,
  DeleteTopics: 20, DeleteRecords: 21, InitProducerId: 22, OffsetForLeaderEpoch: 23,
  AddPartitionsToTxn: 24, AddOffsetsToTxn: 25, EndTxn: 26, WriteTxnMarkers: 27, TxnOffsetCommit: 28,
  DescribeAcls: 29, CreateAcls: 30, DeleteAcls: 31, DescribeConfigs: 32, AlterConfigs: 33, CreatePartitions: 37, DeleteGroups: 42,
  IncrementalAlterConfigs: 44, OffsetDelete: 47, DescribeCluster: 60, DescribeProducers: 61,
  DescribeTransactions: 65, ListTransactions: 66,
  ConsumerGroupHeartbeat: 68, ConsumerGroupDescribe: 69,
  AlterReplicaLogDirs: 34, DescribeLogDirs: 35, ElectLeaders: 43, AlterPartitionReassignments: 45, ListPartitionReassignments: 46,
  DescribeQuorum: 55, GetTelemetrySubscriptions: 71, PushTelemetry: 72, ListClientMetricsResources: 74,
  DescribeTopicPartitions: 75,
  ShareGroupHeartbeat: 76, ShareGroupDescribe: 77, ShareFetch: 78, ShareAcknowledge: 79,
  DescribeShareGroupOffsets: 90, AlterShareGroupOffsets: 91, DeleteShareGroupOffsets: 92,
} as const satisfies Record<string, ApiKeyNumber>;

const byKey = new Map<number, ApiSchema>(API_SCHEMAS.map((a) => [a.apiKey, a]));

export function apiSchema(apiKey: number): ApiSchema | undefined {
  return byKey.get(apiKey);
}

export function apiName(apiKey: number): string {
  return byKey.get(apiKey)?.name ?? `Unknown(${apiKey})`;
}
