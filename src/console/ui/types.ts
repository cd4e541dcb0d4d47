// The shapes the API answers with (src/console/cluster-link.ts writes them).
export interface Info { version: string; readOnly: boolean; loginRequired: boolean; user: string | null; maxRecords: number; scanLimit: number }
export interface Broker { nodeId: number; host: string; port: number }
export interface Overview { clusterId: string; controller: number | null; brokers: Broker[]; topics: number; internalTopics: number; partitions: number; groups: number }
export interface TopicRow { name: string; internal: boolean; partitions: number; messages: number; sizeBytes: number | null }
export interface PartitionRow { partition: number; leader: number; replicas: number[]; isr: number[]; low: string; high: string; sizeBytes: number | null }
export interface ConfigRow { name: string; value: string | null; isDefault: boolean; readOnly: boolean; sensitive: boolean; source: number }
export interface TopicDetail { name: string; internal: boolean; topicId: string; partitions: PartitionRow[]; configs: ConfigRow[] }
export interface Header { key: string; value: string | null }
export interface Message { partition: number; offset: string; timestamp: string; key: string | null; value: string | null; valueSize: number; truncated: boolean; headers: Header[] }
export interface Browse { records: Message[]; scanned: number; nextOffset: number; low: number; high: number; stoppedBy: 'end' | 'limit' | 'scan-limit' | 'deadline' }
export interface GroupRow { groupId: string; protocolType: string; state: string; members: number; lag: number | null }
export interface GroupOffset { topic: string; partition: number; committed: number; end: number; lag: number | null }
export interface GroupMember { memberId: string; clientId: string; host: string; assignments: { topic: string; partitions: number[] }[] }
export interface GroupDetail { groupId: string; state: string; protocol: string; protocolType: string; members: GroupMember[]; offsets: GroupOffset[] }
export interface Throughput { time: number; endOffsets: Record<string, number> }
