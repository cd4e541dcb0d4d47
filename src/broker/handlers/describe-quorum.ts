// DescribeQuorum v0–2 (Admin.describeMetadataQuorum, kafka-metadata-quorum describe --status /
// --replication). Fjord has no separate controller and no metadata log; the honest KRaft picture of
// one node is a quorum of one voter, this broker, leading it: leader id = node id, leader epoch
// = the partitions' leader epoch (LEADER_EPOCH, what Metadata reports), high watermark and every
// log end offset 0 (there is no metadata log, so no voter is ever behind), no observers; the leader's
// fetch and caught-up times are now, as Kafka reports its own. v2 adds the voter's directory id (the
// zero uuid, as a static kraft.version 0 quorum has) and its endpoint: the listener the client came
// through. Only __cluster_metadata partition 0 exists (else UNKNOWN_TOPIC_OR_PARTITION for it).
// Authorization: DESCRIBE on the cluster, else CLUSTER_AUTHORIZATION_FAILED at the top.
import { ApiKey } from '../../protocol/apis.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { DescribeQuorumResponse, DescribeQuorumResponsePartitionData } from '../../protocol/generated/types.js';
import { LEADER_EPOCH } from '../../storage/append.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const METADATA_TOPIC = '__cluster_metadata';

export const describeQuorumHandler = defineHandler({
  apiKey: ApiKey.DescribeQuorum,
  minVersion: 0,
  maxVersion: 2,
  handle(ctx, req): DescribeQuorumResponse {
    if (!authorize(ctx, 'DESCRIBE', 'CLUSTER')) {
      return { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, topics: [], nodes: [] };
    }
    const nodeId = ctx.services.node.nodeId;
    const now = Date.now();
    const partition = (partitionIndex: number, valid: boolean): DescribeQuorumResponsePartitionData => valid
      ? {
        partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null, leaderId: nodeId, leaderEpoch: LEADER_EPOCH, highWatermark: 0,
        currentVoters: [{ replicaId: nodeId, replicaDirectoryId: ZERO_UUID, logEndOffset: 0, lastFetchTimestamp: now, lastCaughtUpTimestamp: now }],
        observers: [],
      }
      : {
        partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, leaderId: -1, leaderEpoch: -1, highWatermark: -1,
        currentVoters: [], observers: [],
      };
    const { name, advertisedHost, advertisedPort } = ctx.connection.listener;
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: req.topics.map((t) => ({
        topicName: t.topicName,
        partitions: t.partitions.map((p) => partition(p.partitionIndex, t.topicName === METADATA_TOPIC && p.partitionIndex === 0)),
      })),
      nodes: [{ nodeId, listeners: [{ name, host: advertisedHost, port: advertisedPort }] }],
    };
  },
});
