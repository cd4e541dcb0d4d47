// DescribeConfigs v0–4 for topics (resource type 2) and this broker (type 4). Topic values are the
// topic's overrides (source DYNAMIC_TOPIC_CONFIG) or the broker defaults (source DEFAULT_CONFIG).
// configurationKeys null = every key. Synonyms (v1+) and documentation (v3+) are left empty.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type {
  DescribeConfigsResponse, DescribeConfigsResponseDescribeConfigsResourceResult, DescribeConfigsResponseDescribeConfigsResult,
} from '../../protocol/generated/types.js';
import { defaultTopicConfigs } from '../broker.js';
import { defineHandler } from '../handler.js';

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const SOURCE_DYNAMIC_TOPIC = 1;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;
const TYPE_STRING = 2, TYPE_INT = 3, TYPE_LONG = 5, TYPE_BOOLEAN = 1, TYPE_LIST = 7;

const CONFIG_TYPES: Record<string, number> = {
  'cleanup.policy': TYPE_LIST, 'retention.ms': TYPE_LONG, 'retention.bytes': TYPE_LONG, 'segment.bytes': TYPE_INT,
  'segment.ms': TYPE_LONG, 'max.message.bytes': TYPE_INT, 'min.insync.replicas': TYPE_INT,
  'unclean.leader.election.enable': TYPE_BOOLEAN, 'num.partitions': TYPE_INT, 'auto.create.topics.enable': TYPE_BOOLEAN,
  'message.max.bytes': TYPE_INT, 'socket.request.max.bytes': TYPE_INT, 'group.initial.rebalance.delay.ms': TYPE_INT,
  'default.replication.factor': TYPE_INT, 'offsets.topic.replication.factor': TYPE_INT, 'log.segment.bytes': TYPE_INT,
  'broker.id': TYPE_INT, 'node.id': TYPE_INT,
};

function entry(name: string, value: string, source: number, readOnly: boolean): DescribeConfigsResponseDescribeConfigsResourceResult {
  return {
    name, value, readOnly, isDefault: source === SOURCE_DEFAULT, configSource: source, isSensitive: false,
    synonyms: [], configType: CONFIG_TYPES[name] ?? TYPE_STRING, documentation: null,
  };
}

export const describeConfigsHandler = defineHandler({
  apiKey: ApiKey.DescribeConfigs,
  minVersion: 0,
  maxVersion: 4,
  handle(ctx, req): DescribeConfigsResponse {
    const { broker } = ctx;
    const results = req.resources.map((r): DescribeConfigsResponseDescribeConfigsResult => {
      const keys = r.configurationKeys;
      const pick = (all: DescribeConfigsResponseDescribeConfigsResourceResult[]) => (keys === null ? all : all.filter((c) => keys.includes(c.name)));
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      if (r.resourceType === RESOURCE_TOPIC) {
        const topic = broker.storage.topic(r.resourceName);
        if (!topic) return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `no topic named ${r.resourceName}`, configs: [] };
        const defaults = defaultTopicConfigs(broker.config);
        const configs = Object.keys(defaults).sort().map((k) =>
          k in topic.configs ? entry(k, topic.configs[k], SOURCE_DYNAMIC_TOPIC, false) : entry(k, defaults[k], SOURCE_DEFAULT, false));
        return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs: pick(configs) };
      }
      if (r.resourceType === RESOURCE_BROKER) {
        if (r.resourceName !== '' && r.resourceName !== String(broker.nodeId)) {
          return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `this is broker ${broker.nodeId}`, configs: [] };
        }
        const c = broker.config;
        const values: Record<string, string> = {
          'broker.id': String(c.nodeId),
          'node.id': String(c.nodeId),
          'num.partitions': String(c.defaultPartitions),
          'auto.create.topics.enable': String(c.autoCreateTopics),
          'message.max.bytes': String(c.maxMessageBytes),
          'socket.request.max.bytes': String(c.maxRequestBytes),
          'group.initial.rebalance.delay.ms': String(c.groupInitialRebalanceDelayMs),
          'log.segment.bytes': String(c.segmentBytes),
          'default.replication.factor': '1',
          'offsets.topic.replication.factor': '1',
        };
        const configs = Object.keys(values).sort().map((k) => entry(k, values[k], SOURCE_STATIC_BROKER, true));
        return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs: pick(configs) };
      }
      return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `resource type ${r.resourceType} is not supported`, configs: [] };
    });
    return { throttleTimeMs: 0, results };
  },
});
