// The API versions Fjord's client speaks. On each connection the version used is
// min(our max, the broker's max), provided it is not below either side's minimum.
// The lower bounds are where the request shapes this client builds begin (RecordBatch v2 for
// Produce/Fetch, ListOffsets v1's single offset, ...); upper bounds stop before versions that need
// something the client does not do (Fetch v13+ topic ids, OffsetFetch v8+ group batches).
import { ApiKey } from '../protocol/apis.js';

export const CLIENT_VERSIONS: ReadonlyMap<number, readonly [number, number]> = new Map([
  [ApiKey.Produce, [3, 11]],
  [ApiKey.Fetch, [4, 12]],
  [ApiKey.ListOffsets, [1, 7]],
  [ApiKey.Metadata, [1, 12]],
  [ApiKey.OffsetCommit, [2, 9]],
  [ApiKey.OffsetFetch, [1, 7]],
  [ApiKey.FindCoordinator, [0, 6]],
  [ApiKey.JoinGroup, [0, 9]],
  [ApiKey.Heartbeat, [0, 4]],
  [ApiKey.LeaveGroup, [0, 5]],
  [ApiKey.SyncGroup, [0, 5]],
  [ApiKey.DescribeGroups, [0, 5]],
  [ApiKey.ListGroups, [0, 5]],
  [ApiKey.SaslHandshake, [1, 1]],
  [ApiKey.ApiVersions, [0, 3]],
  [ApiKey.CreateTopics, [0, 7]],
  [ApiKey.DeleteTopics, [0, 6]],
  [ApiKey.DeleteRecords, [0, 2]],
  [ApiKey.InitProducerId, [0, 4]],
  [ApiKey.AddPartitionsToTxn, [0, 3]], // v4+ is the brokers' batched form
  [ApiKey.AddOffsetsToTxn, [0, 4]],
  [ApiKey.EndTxn, [0, 4]], // v5 needs KIP-890's epoch bump per transaction
  [ApiKey.TxnOffsetCommit, [0, 4]],
  [ApiKey.DescribeAcls, [1, 3]], // v0 has no pattern types
  [ApiKey.CreateAcls, [1, 3]],
  [ApiKey.DeleteAcls, [1, 3]],
  [ApiKey.DescribeConfigs, [0, 4]],
  [ApiKey.AlterConfigs, [0, 2]],
  [ApiKey.CreatePartitions, [0, 3]],
  [36, [0, 2]], // SaslAuthenticate
  [ApiKey.DeleteGroups, [0, 2]],
  [ApiKey.IncrementalAlterConfigs, [0, 1]],
  [ApiKey.OffsetDelete, [0, 0]],
  [ApiKey.AlterPartitionReassignments, [0, 0]],
  [ApiKey.ListPartitionReassignments, [0, 0]],
  [ApiKey.DescribeCluster, [0, 1]],
  [50, [0, 0]], // DescribeUserScramCredentials
  [51, [0, 0]], // AlterUserScramCredentials
  [68, [0, 1]], // ConsumerGroupHeartbeat (KIP-848)
  [69, [0, 0]], // ConsumerGroupDescribe (KIP-848)
  // Share groups (KIP-932): share-consumer.ts. v1 is Kafka 4.1's (which serves v1 only) and Fjord's;
  // v0 (the early-access version) for brokers without v1. v2 (Kafka 4.2) adds Renew, not done here.
  [ApiKey.ShareGroupHeartbeat, [0, 1]],
  [ApiKey.ShareFetch, [0, 1]],
  [ApiKey.ShareAcknowledge, [0, 1]],
]);

/** The highest ApiVersions version we send first. */
export const API_VERSIONS_MAX = 3;
