// DescribeConfigs v0–4 for topics (resource type 2), this broker (type 4) and share groups (type 32,
// share/group-configs.ts). Topic values are the
// topic's overrides (source DYNAMIC_TOPIC_CONFIG) or the broker defaults (source DEFAULT_CONFIG, or
// STATIC_BROKER_CONFIG when the broker setting behind it was set). Names, types and defaults come
// from the settings table (settings.ts); broker configs are read-only but the dynamic ones
// (dynamic-configs.ts: source DYNAMIC_BROKER_CONFIG / DYNAMIC_DEFAULT_BROKER_CONFIG when set there,
// and synonyms down to the default, as Kafka lists them).
// configurationKeys null = every key. Synonyms (v1+, includeSynonyms) of topic configs: the topic's
// value, the broker settings behind the default that were set, the default. Documentation (v3+,
// includeDocumentation) is the settings table's description of the config; null when not asked.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type {
  DescribeConfigsResponse, DescribeConfigsResponseDescribeConfigsResourceResult, DescribeConfigsResponseDescribeConfigsResult, DescribeConfigsResponseDescribeConfigsSynonym,
} from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';
import { internalTopicNames } from '../topics.js';
import { brokerConfigEntries, configDocumentation, KAFKA_CONFIG_SOURCE, kafkaConfigType } from '../settings.js';
import { groupConfigEntries, RESOURCE_GROUP } from '../share/group-configs.js';

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;

function entry(name: string, value: string | null, source: number, readOnly: boolean, documented: boolean, isSensitive = false, synonyms: DescribeConfigsResponseDescribeConfigsSynonym[] = []): DescribeConfigsResponseDescribeConfigsResourceResult {
  return {
    name, value, readOnly, isDefault: source === KAFKA_CONFIG_SOURCE.DEFAULT_CONFIG, configSource: source, isSensitive,
    synonyms, configType: kafkaConfigType(name), documentation: documented ? configDocumentation(name) : null,
  };
}

export const describeConfigsHandler = defineHandler({
  apiKey: ApiKey.DescribeConfigs,
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx, req): Promise<DescribeConfigsResponse> {
    const { services } = ctx;
    // Kafka's internal topics Metadata lists: their settings are a compacted topic's.
    const internal = await internalTopicNames(services.storage);
    const documented = req.includeDocumentation === true;
    const results = req.resources.map((r): DescribeConfigsResponseDescribeConfigsResult => {
      const keys = r.configurationKeys;
      const pick = (all: DescribeConfigsResponseDescribeConfigsResourceResult[]) => (keys === null ? all : all.filter((c) => keys.includes(c.name)));
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      // DESCRIBE_CONFIGS on the topic, or on the cluster for broker configs.
      if (r.resourceType === RESOURCE_TOPIC && !authorize(ctx, 'DESCRIBE_CONFIGS', 'TOPIC', r.resourceName)) {
        return { ...base, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Authorization failed.', configs: [] };
      }
      if (r.resourceType === RESOURCE_BROKER && !authorize(ctx, 'DESCRIBE_CONFIGS', 'CLUSTER')) {
        return { ...base, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Authorization failed.', configs: [] };
      }
      if (r.resourceType === RESOURCE_TOPIC) {
        const topic = services.storage.topic(r.resourceName)
          ?? (internal.includes(r.resourceName) ? { configs: { 'cleanup.policy': 'compact' } } : undefined);
        if (!topic) return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `no topic named ${r.resourceName}`, configs: [] };
        const configs = services.topics.effectiveConfigs(topic.configs).map((c) => entry(c.name, c.value, c.source, false, documented, false, req.includeSynonyms ? c.synonyms : []));
        return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs: pick(configs) };
      }
      if (r.resourceType === RESOURCE_BROKER) {
        if (r.resourceName !== '' && r.resourceName !== String(services.node.nodeId)) {
          return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `this is broker ${services.node.nodeId}`, configs: [] };
        }
        const configs = brokerConfigEntries(services.config).map((c) => {
          // Dynamic settings (dynamic-configs.ts): writable, their source the strongest that is set.
          const dynamic = services.brokerConfigs.describe(c.name);
          if (dynamic) return entry(c.name, c.value, dynamic.source, false, documented, c.sensitive, req.includeSynonyms ? dynamic.synonyms : []);
          return entry(c.name, c.value, c.source === 'default' ? KAFKA_CONFIG_SOURCE.DEFAULT_CONFIG : KAFKA_CONFIG_SOURCE.STATIC_BROKER_CONFIG, true, documented, c.sensitive);
        });
        return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs: pick(configs) };
      }
      if (r.resourceType === RESOURCE_GROUP) {
        // Share-group configs (share/group-configs.ts): DESCRIBE_CONFIGS on the group.
        if (!authorize(ctx, 'DESCRIBE_CONFIGS', 'GROUP', r.resourceName)) return { ...base, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: 'Authorization failed.', configs: [] };
        const configs = groupConfigEntries(services.shares.groupConfigs(r.resourceName), services.config.groupShareRecordLockDurationMs).map((c): DescribeConfigsResponseDescribeConfigsResourceResult => ({
          name: c.name, value: c.value, readOnly: false, isDefault: c.isDefault, configSource: c.source, isSensitive: false, synonyms: [], configType: c.configType, documentation: null,
        }));
        return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs: pick(configs) };
      }
      return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `resource type ${r.resourceType} is not supported`, configs: [] };
    });
    return { throttleTimeMs: 0, results };
  },
});
