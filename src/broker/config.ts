// Broker configuration: the shape of the settings. Their defaults (DEFAULT_CONFIG), flags,
// environment variables, Kafka names and checks are in the one table of src/broker/settings.ts.
import type { ScramUserSpec } from './auth/add-scram.js';
import type { LogFormatSetting, LogLevel } from './logger.js';

export interface BrokerConfig {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Hosts to listen on. The default listens on both loopbacks (librdkafka resolves localhost to ::1). */
  listenHosts: string[];
  /** Host and port written into Metadata / FindCoordinator; default: the first listen host and the bound port. */
  advertisedHost?: string;
  advertisedPort?: number;
  /** 'memory' or a folder path for the file engine. */
  dataDir: string | 'memory';
  /** A storage URL (memory:, file:<path>, postgres://...); when set it replaces dataDir. */
  storage?: string;
  /** node.id; -1 (PostgreSQL cluster mode only): the lowest id no live broker of the database holds. */
  nodeId: number;
  /** broker.rack: reported in Metadata / DescribeCluster. */
  rack?: string;
  /** Cluster mode (PostgreSQL): how often a broker renews its lease, how long the lease lasts, how often it polls leadership. */
  clusterHeartbeatMs: number;
  clusterLeaseMs: number;
  clusterPollMs: number;
  defaultPartitions: number;
  autoCreateTopics: boolean;
  /** Most partitions of all topics together (internal logs not counted); Fjord's own setting. */
  maxPartitions: number;
  /** 'always' (fsync before acks=-1 answers), 'os', or an interval in ms. */
  flush: 'always' | 'os' | number;
  /** log.segment.bytes */
  segmentBytes: number;
  /** log.roll.ms, else log.roll.hours: the segment.ms of topics that do not set their own. */
  rollMs?: number;
  rollHours: number;
  /** log.roll.jitter.ms, else log.roll.jitter.hours: the segment.jitter.ms default. */
  rollJitterMs?: number;
  rollJitterHours: number;
  /** log.index.size.max.bytes: the segment.index.bytes default. */
  segmentIndexBytes: number;
  /** log.index.interval.bytes: the index.interval.bytes default. */
  indexIntervalBytes: number;
  /** log.segment.delete.delay.ms: the file.delete.delay.ms default. */
  segmentDeleteDelayMs: number;
  /**
   * log.retention.ms, else log.retention.minutes, else log.retention.hours: the retention.ms of
   * topics that do not set their own; -1 keeps records forever.
   */
  retentionMs?: number;
  retentionMinutes?: number;
  retentionHours: number;
  /** log.retention.bytes: the retention.bytes default; -1 = no size bound. */
  retentionBytes: number;
  /** log.message.timestamp.type, log.message.timestamp.before.max.ms / after.max.ms: topic defaults. */
  messageTimestampType: 'CreateTime' | 'LogAppendTime';
  messageTimestampBeforeMaxMs: number;
  messageTimestampAfterMaxMs: number;
  /** min.insync.replicas: the topic default. */
  minInsyncReplicas: number;
  /** compression.type: the topic default. */
  compressionType: 'uncompressed' | 'zstd' | 'lz4' | 'snappy' | 'gzip' | 'producer';
  /** log.cleaner.backoff.ms: how often the cleaner looks for work. */
  logCleanerBackoffMs: number;
  /** log.cleaner.dedupe.buffer.size: bytes of the cleaner's offset map. */
  logCleanerDedupeBufferSize: number;
  /** log.cleaner.io.max.bytes.per.second (Number.MAX_VALUE: no bound). */
  logCleanerIoMaxBytesPerSecond: number;
  /** log.cleaner.threads: 1 only. */
  logCleanerThreads: number;
  /** socket.request.max.bytes: larger frames close the connection. */
  maxRequestBytes: number;
  /** queued.max.request.bytes: bytes of requests being received or handled, broker-wide; -1 = no bound. */
  queuedMaxRequestBytes: number;
  /** telemetry.max.bytes: the largest PushTelemetry payload (KIP-714). */
  telemetryMaxBytes: number;
  /** connections.max.idle.ms: a connection idle (or stuck on a half-sent frame) this long is closed; -1 = never. */
  connectionsMaxIdleMs: number;
  /** fetch.max.bytes: the most record bytes one Fetch response carries, whatever the client asks. */
  fetchMaxBytes: number;
  /** Segment files the file engine keeps open, all partitions together; default from ulimit -n. */
  maxOpenFiles?: number;
  /** Bytes the file engine's tail caches may pin, all partitions together. */
  tailCacheBytes: number;
  /** message.max.bytes: the largest record batch accepted. */
  maxMessageBytes: number;
  /** group.initial.rebalance.delay.ms */
  groupInitialRebalanceDelayMs: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  /** offsets.retention.minutes: committed offsets of a group that has been Empty this long are deleted. */
  offsetsRetentionMinutes: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
  /** group.consumer.session.timeout.ms (KIP-848 consumer groups). */
  groupConsumerSessionTimeoutMs: number;
  /** group.consumer.heartbeat.interval.ms (KIP-848 consumer groups). */
  groupConsumerHeartbeatIntervalMs: number;
  /** group.share.* (KIP-932 share groups). */
  groupShareHeartbeatIntervalMs: number;
  groupShareSessionTimeoutMs: number;
  groupShareMaxSize: number;
  groupShareRecordLockDurationMs: number;
  groupShareDeliveryCountLimit: number;
  groupSharePartitionMaxRecordLocks: number;
  /** transaction.max.timeout.ms: the largest transaction timeout InitProducerId accepts. */
  transactionMaxTimeoutMs: number;
  /** transaction.abort.timed.out.transaction.cleanup.interval.ms: how often timed-out transactions are aborted. */
  transactionAbortCheckIntervalMs: number;
  /** log.retention.check.interval.ms; 0 turns time-based retention off. */
  retentionCheckIntervalMs: number;
  /** sasl.enabled.mechanisms: what SASL_PLAINTEXT / SASL_SSL listeners offer (unless listener.name.<name>.sasl.enabled.mechanisms says otherwise). */
  saslEnabledMechanisms: string[];
  /** connections.max.reauth.ms: SASL sessions last this long (KIP-368); 0 = forever. */
  connectionsMaxReauthMs: number;
  /** connection.failed.authentication.delay.ms: wait before answering a failed authentication. */
  connectionFailedAuthenticationDelayMs: number;
  /** Failed SASL authentications per client address per minute before the penalty applies; 0 = no limit. */
  saslFailedAuthenticationLimit: number;
  /** Extra wait before answering any SaslAuthenticate from an address past the limit. */
  saslFailedAuthenticationPenaltyMs: number;
  /** sasl.oauthbearer.jwks.endpoint.url: the JWKS OAUTHBEARER tokens are checked against (https:, http: or file: URL). */
  saslOauthbearerJwksEndpointUrl?: string;
  /** sasl.oauthbearer.jwks.endpoint.refresh.ms / retry.backoff.ms / retry.backoff.max.ms: fetching an http(s) JWKS. */
  saslOauthbearerJwksEndpointRefreshMs: number;
  saslOauthbearerJwksEndpointRetryBackoffMs: number;
  saslOauthbearerJwksEndpointRetryBackoffMaxMs: number;
  /** fjord.sasl.oauthbearer.public.key.location: a PEM file of public keys OAUTHBEARER tokens are checked against. */
  saslOauthbearerPublicKeyLocation?: string;
  /** sasl.oauthbearer.expected.audience: a token's aud must hold one of these (empty: not checked). */
  saslOauthbearerExpectedAudience: string[];
  /** sasl.oauthbearer.expected.issuer: a token's iss must be this (absent: not checked). */
  saslOauthbearerExpectedIssuer?: string;
  /** sasl.oauthbearer.sub.claim.name: the claim that names the principal. */
  saslOauthbearerSubClaimName: string;
  /** sasl.oauthbearer.clock.skew.seconds: leeway for exp, nbf and iat. */
  saslOauthbearerClockSkewSeconds: number;
  /** fjord.sasl.oauthbearer.unsecured.jwt: accept unsigned (alg none) tokens; development only. */
  saslOauthbearerUnsecuredJwt: boolean;
  /** quota.window.num: samples a client quota's rate is measured over. */
  quotaWindowNum: number;
  /** quota.window.size.seconds: the length of one sample. */
  quotaWindowSizeSeconds: number;
  /** --add-scram: SCRAM users created at start when missing (kafka-storage format --add-scram). */
  addScram?: ScramUserSpec[];
  /** authorizer.class.name: non-empty turns ACLs on (auth/acls.ts). */
  authorizerClassName: string;
  /** super.users: principals allowed everything. */
  superUsers: string[];
  /** allow.everyone.if.no.acl.found */
  allowEveryoneIfNoAclFound: boolean;
  logLevel: LogLevel;
  /** --log-format: text lines, JSON lines (pino), or auto (text on a terminal). */
  logFormat: LogFormatSetting;
  /** --http-port: the HTTP listener (/metrics, /health, /ready); undefined or -1: none, 0: a free port. */
  httpPort?: number;
  /** --http-host: where the HTTP listener binds. */
  httpHost: string;
  /** --console: the web console at / of the HTTP listener (mounted by src/console/mount.ts). */
  console: boolean;
  /** --console-read-only: the console refuses every change. */
  consoleReadOnly: boolean;
  /** --console-max-records: records one message-browser request returns at most. */
  consoleMaxRecords: number;
  /** --console-scan-limit: records a console search reads at most. */
  consoleScanLimit: number;
  /** --console-request-timeout-ms: how long one console call to the cluster may take. */
  consoleRequestTimeoutMs: number;
  /** listeners: NAME://host:port items; absent: one PLAINTEXT listener on listenHosts and port. */
  listeners?: string[];
  /** advertised.listeners: NAME://host:port per listener name (host or port left out: from the bind). */
  advertisedListeners?: string[];
  /** listener.security.protocol.map: NAME:PROTOCOL items; a name not mapped must be a protocol's own. */
  listenerSecurityProtocolMap?: string[];
  /** fjord.allow.unauthenticated.network: let PLAINTEXT / SSL-without-client-auth listeners bind non-loopback addresses. */
  allowUnauthenticatedNetwork: boolean;
  /** ssl.keystore.type: only PEM. */
  sslKeystoreType: 'PEM';
  /** ssl.keystore.location: one PEM file with the private key and the certificate chain. */
  sslKeystoreLocation?: string;
  /** ssl.keystore.key: the private key as inline PEM. */
  sslKeystoreKey?: string;
  /** ssl.keystore.certificate.chain: the certificate chain as inline PEM. */
  sslKeystoreCertificateChain?: string;
  /** ssl.key.password: passphrase of an encrypted private key. */
  sslKeyPassword?: string;
  /** ssl.truststore.type: only PEM. */
  sslTruststoreType: 'PEM';
  /** ssl.truststore.location: PEM file of the CA certificates client certificates must chain to. */
  sslTruststoreLocation?: string;
  /** ssl.truststore.certificates: the same as inline PEM. */
  sslTruststoreCertificates?: string;
  /** ssl.client.auth: mutual TLS. */
  sslClientAuth: 'none' | 'requested' | 'required';
  /** ssl.principal.mapping.rules: DEFAULT and RULE:pattern/replacement/[LU] items. */
  sslPrincipalMappingRules: string;
  /** How often certificate files are re-read (ms); 0: never. */
  sslReloadIntervalMs: number;
  /** listener.name.<name>.ssl.* and .sasl.enabled.mechanisms: per-listener settings, by upper-case listener name. */
  listenerSsl?: Record<string, ListenerSslOverrides>;
}

/** The settings a listener may override (listener.name.<name>.ssl.*, listener.name.<name>.sasl.enabled.mechanisms). */
export type ListenerSslOverrides = Partial<Pick<BrokerConfig, 'sslKeystoreLocation' | 'sslKeystoreKey' | 'sslKeystoreCertificateChain' | 'sslKeyPassword'
  | 'sslTruststoreLocation' | 'sslTruststoreCertificates' | 'sslClientAuth' | 'sslPrincipalMappingRules' | 'saslEnabledMechanisms'>>;
