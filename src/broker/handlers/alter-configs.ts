// AlterConfigs v0–2 and IncrementalAlterConfigs v0–1 for topics (resource type 2). AlterConfigs
// replaces a topic's whole set of overrides; the incremental form SETs, DELETEs (back to the
// default), APPENDs to or SUBTRACTs from list values one key at a time. Share-group configs (resource
// type 32) likewise (share/group-configs.ts). The broker resource (type 4; name = this broker's id,
// or "" for the cluster-wide default) takes the settings marked dynamic in the settings table
// (dynamic-configs.ts), with Kafka 4.1's errors: another broker's id or a setting that cannot change
// while running INVALID_REQUEST, a bad value INVALID_REQUEST "Invalid value ...", APPEND/SUBTRACT
// INVALID_CONFIG; an unknown name INVALID_CONFIG (Kafka stores it; Fjord takes no setting it would
// ignore). In cluster mode they are written where the internal logs are led (else NOT_CONTROLLER).
// validateOnly checks without changing anything.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type {
  AlterConfigsResponse, AlterConfigsResponseAlterConfigsResourceResponse, IncrementalAlterConfigsResponse,
} from '../../protocol/generated/types.js';
import { StorageError } from '../../storage/types.js';
import { TopicError } from '../topics.js';
import { securityWriteProblem } from '../cluster/view.js';
import { authorize } from '../auth/acls.js';
import { defineHandler, type RequestContext } from '../handler.js';
import { isListConfig } from '../settings.js';
import { checkGroupConfigs, GroupConfigError, RESOURCE_GROUP } from '../share/group-configs.js';

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const OP_SET = 0, OP_DELETE = 1, OP_APPEND = 2, OP_SUBTRACT = 3;

/** What both requests say of a resource; their `configs` differ (the incremental one has operations). */
interface Resource {
  resourceType: number;
  resourceName: string;
}

type Change<R extends Resource> = (current: Record<string, string>, resource: R) => Record<string, string>;

/** Both APIs answer with the same response shape. */
async function apply<R extends Resource>(ctx: RequestContext, resources: R[], validateOnly: boolean, change: Change<R>): Promise<AlterConfigsResponse> {
  const { services } = ctx;
  const responses: AlterConfigsResponseAlterConfigsResourceResponse[] = [];
  for (const r of resources) {
    const answer = (errorCode: number, errorMessage: string | null) =>
      responses.push({ errorCode, errorMessage, resourceType: r.resourceType, resourceName: r.resourceName });
    if (r.resourceType === RESOURCE_GROUP) {
      // Share-group configs (share/group-configs.ts): ALTER_CONFIGS on the group.
      if (!authorize(ctx, 'ALTER_CONFIGS', 'GROUP', r.resourceName)) { answer(ErrorCode.GROUP_AUTHORIZATION_FAILED, 'Authorization failed.'); continue; }
      try {
        const next = change(services.shares.groupConfigs(r.resourceName), r);
        if (validateOnly) checkGroupConfigs(next);
        else await services.shares.setGroupConfigs(r.resourceName, next);
        answer(ErrorCode.NONE, null);
      } catch (err) {
        if (err instanceof GroupConfigError || err instanceof TopicError) answer(err.errorCode, err.message);
        else throw err;
      }
      continue;
    }
    // ALTER_CONFIGS on the topic, or on the cluster for broker configs.
    const isTopic = r.resourceType === RESOURCE_TOPIC;
    if (!(isTopic ? authorize(ctx, 'ALTER_CONFIGS', 'TOPIC', r.resourceName) : authorize(ctx, 'ALTER_CONFIGS', 'CLUSTER'))) {
      answer(isTopic ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Authorization failed.');
      continue;
    }
    if (r.resourceType === RESOURCE_BROKER) {
      const nodeId = services.node.nodeId;
      if (r.resourceName !== '' && r.resourceName !== String(nodeId)) { answer(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${nodeId}, but received ${r.resourceName}`); continue; }
      try {
        const next = change(services.brokerConfigs.current(r.resourceName), r);
        const problem = services.brokerConfigs.problem(next);
        if (problem) { answer(ErrorCode[problem[0]], problem[1]); continue; }
        if (!validateOnly) {
          const elsewhere = securityWriteProblem(services.cluster);
          if (elsewhere) { answer(ErrorCode.NOT_CONTROLLER, elsewhere); continue; }
          await services.brokerConfigs.replace(r.resourceName, next);
          services.logger.info(`broker configs${r.resourceName === '' ? ' (cluster default)' : ''} now ${JSON.stringify(next)}`);
        }
        answer(ErrorCode.NONE, null);
      } catch (err) {
        if (err instanceof TopicError) answer(err.errorCode, err.message);
        else if (err instanceof StorageError) {
          services.logger.warn(`altering broker configs: ${err.message}`);
          answer(ErrorCode.KAFKA_STORAGE_ERROR, err.message);
        } else throw err;
      }
      continue;
    }
    if (r.resourceType !== RESOURCE_TOPIC) {
      answer(ErrorCode.INVALID_REQUEST, `resource type ${r.resourceType} cannot be altered`);
      continue;
    }
    const topic = services.storage.topic(r.resourceName);
    if (!topic) { answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no topic named ${r.resourceName}`); continue; }
    try {
      const next = change({ ...topic.configs }, r);
      services.topics.checkConfigs(next);
      if (!validateOnly) {
        await services.storage.alterTopicConfigs(topic.name, next);
        services.logger.info(`topic ${topic.name} configs now ${JSON.stringify(next)}`);
      }
      answer(ErrorCode.NONE, null);
    } catch (err) {
      if (err instanceof TopicError) answer(err.errorCode, err.message);
      // Deleted while we changed it (DeleteTopics between the lookup and the write): the topic is gone.
      else if (services.storage.topic(topic.name)?.topicId !== topic.topicId) answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no topic named ${topic.name}`);
      else if (err instanceof StorageError) {
        services.logger.warn(`altering configs of topic ${topic.name}: ${err.message}`);
        answer(ErrorCode.KAFKA_STORAGE_ERROR, err.message);
      } else throw err;
    }
  }
  return { throttleTimeMs: 0, responses };
}

export const alterConfigsHandler = defineHandler({
  apiKey: ApiKey.AlterConfigs,
  minVersion: 0,
  maxVersion: 2,
  handle(ctx, req): Promise<AlterConfigsResponse> {
    return apply(ctx, req.resources, req.validateOnly, (_current, r) => {
      const next: Record<string, string> = {};
      for (const c of r.configs) if (c.value !== null) next[c.name] = c.value;
      return next;
    });
  },
});

export const incrementalAlterConfigsHandler = defineHandler({
  apiKey: ApiKey.IncrementalAlterConfigs,
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, req): Promise<IncrementalAlterConfigsResponse> {
    return apply(ctx, req.resources, req.validateOnly, (current, r) => {
      for (const c of r.configs) {
        const list = (v: string | undefined) => (v ? v.split(',').map((x) => x.trim()).filter(Boolean) : []);
        switch (c.configOperation) {
          case OP_SET:
            if (c.value === null) throw new TopicError(ErrorCode.INVALID_CONFIG, `SET ${c.name} needs a value`);
            current[c.name] = c.value;
            break;
          case OP_DELETE:
            delete current[c.name];
            break;
          case OP_APPEND:
          case OP_SUBTRACT: {
            // No dynamic broker config is a list (Kafka's words).
            if (r.resourceType === RESOURCE_BROKER) throw new TopicError(ErrorCode.INVALID_CONFIG, `Config value ${c.configOperation === OP_APPEND ? 'append' : 'subtract'} is not allowed for config key: ${c.name}`);
            if (!isListConfig(c.name)) throw new TopicError(ErrorCode.INVALID_CONFIG, `${c.name} is not a list config`);
            const have = list(current[c.name] ?? ctx.services.topics.configValue(ctx.services.storage.topic(r.resourceName)!, c.name));
            const items = list(c.value ?? '');
            const out = c.configOperation === OP_APPEND ? [...have, ...items.filter((i) => !have.includes(i))] : have.filter((i) => !items.includes(i));
            current[c.name] = out.join(',');
            break;
          }
          default:
            throw new TopicError(ErrorCode.INVALID_REQUEST, `unknown config operation ${c.configOperation}`);
        }
      }
      return current;
    });
  },
});
