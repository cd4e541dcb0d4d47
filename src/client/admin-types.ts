// The admin client's public shapes (kafkajs' names): ACLs, SCRAM credentials, topic, offset, group
// and config descriptions, and the numeric enums kafkajs exports for configs and resources.
import type { RetryOptions } from './retry.js';

/** SCRAM mechanisms and Kafka's numbers for them. */
export type ScramMechanismName = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** One ACL, kafkajs' shape (numbers from AclResourceTypes, ResourcePatternTypes, AclOperationTypes, AclPermissionTypes). */
export interface AclBinding {
  resourceType: number;
  resourceName: string;
  /** Default LITERAL (3). */
  resourcePatternType?: number;
  principal: string;
  /** Default '*'. */
  host?: string;
  operation: number;
  permissionType: number;
}

/** A filter over ACLs (describeAcls, deleteAcls): absent names, principals and hosts match any. */
export interface AclFilter {
  resourceType: number;
  resourceName?: string | null;
  resourcePatternType?: number;
  principal?: string | null;
  host?: string | null;
  operation: number;
  permissionType: number;
}

/** A SCRAM user's credentials as DescribeUserScramCredentials reports them (never a key or salt). */
export interface UserScramCredentials {
  user: string;
  credentials: { mechanism: ScramMechanismName | 'UNKNOWN'; iterations: number }[];
}

export interface AdminConfig {
  retry?: RetryOptions;
}

/** Config resource types (kafkajs' ConfigResourceTypes). */
export const ConfigResourceTypes = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;
/** Resource types (kafkajs' deprecated ResourceTypes, also used for configs). */
export const ResourceTypes = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6 } as const;
export const ConfigSource = {
  UNKNOWN: 0, TOPIC_CONFIG: 1, DYNAMIC_BROKER_CONFIG: 2, DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5, DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;

export interface ITopicConfig {
  topic: string;
  numPartitions?: number;
  replicationFactor?: number;
  replicaAssignment?: { partition: number; replicas: number[] }[];
  configEntries?: { name: string; value: string }[];
}

export interface PartitionOffset { partition: number; offset: string }
export interface SeekEntry { partition: number; offset: string | number }

export interface GroupDescription {
  groupId: string;
  members: {
    memberId: string; clientId: string; clientHost: string; memberMetadata: Buffer; memberAssignment: Buffer; groupInstanceId?: string | null;
    /** KIP-848 groups (a Fjord addition): the member's epoch and the assignment it is moving to, MemberAssignment-encoded. */
    memberEpoch?: number; targetAssignment?: Buffer;
  }[];
  /** The node coordinating the group (a Fjord addition). */
  coordinator?: number;
  /** KIP-848 groups (a Fjord addition): the epoch of the target assignment. */
  assignmentEpoch?: number;
  protocol: string;
  protocolType: string;
  state: string;
  errorCode: number;
}

export interface ConfigEntry {
  configName: string;
  configValue: string | null;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  readOnly: boolean;
  configSynonyms: { configName: string; configValue: string | null; configSource: number }[];
}
