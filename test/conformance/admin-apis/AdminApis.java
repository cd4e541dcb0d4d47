// One Java program over Kafka 4.1's AdminClient and producer, run against Apache Kafka 4.1 and Fjord
// by test/conformance/admin-apis-kafka.test.ts (java's source-file mode, the Kafka jars on the class
// path). Lines starting "= " must be the same from both brokers; "~ " lines are printed for the
// test to check one broker's own values (features, sizes). Exit 0 only when every call returned.
// Usage: java -cp '<kafka>/lib/*' AdminApis.java <bootstrap> <topic>
import java.util.*;
import java.util.stream.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.serialization.StringSerializer;

public class AdminApis {
  static void same(String s) { System.out.println("= " + s); }
  static void own(String s) { System.out.println("~ " + s); }
  static String err(Throwable t) {
    Throwable c = t instanceof java.util.concurrent.ExecutionException && t.getCause() != null ? t.getCause() : t;
    return c.getClass().getSimpleName();
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.ENABLE_METRICS_PUSH_CONFIG, "true");
    try (Admin admin = Admin.create(p)) {
      int self = admin.describeCluster().nodes().get().iterator().next().id();
      admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get();

      // A producer that pushes client metrics when the broker asks it to (KIP-714).
      Properties pp = new Properties();
      pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      pp.put(ProducerConfig.ENABLE_METRICS_PUSH_CONFIG, "true");
      pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
        for (int i = 0; i < 5; i++) producer.send(new ProducerRecord<>(topic, 0, "k" + i, "v".repeat(200))).get();
        own("producer clientInstanceId " + (producer.clientInstanceId(java.time.Duration.ofSeconds(10)) != null));
      } catch (Exception e) {
        own("producer clientInstanceId " + err(e));
      }
      same("produced 5");

      // describeTopics: DescribeTopicPartitions on Kafka 4.
      TopicDescription d = admin.describeTopics(List.of(topic), new DescribeTopicsOptions().includeAuthorizedOperations(true)).allTopicNames().get().get(topic);
      same("describeTopics " + d.name() + " internal=" + d.isInternal() + " partitions=" + d.partitions().size());
      for (TopicPartitionInfo i : d.partitions()) {
        same("  p" + i.partition() + " leaderIsSelf=" + (i.leader().id() == self) + " replicas=" + i.replicas().size() + " isr=" + i.isr().size()
          + " elr=" + i.elr() + " lastKnownElr=" + i.lastKnownElr());
      }
      same("  authorizedOperations " + new TreeSet<>(d.authorizedOperations().stream().map(AclOperation::name).collect(Collectors.toSet())));
      try {
        admin.describeTopics(List.of("no-such-topic-" + topic)).allTopicNames().get();
        same("describeTopics missing: ok");
      } catch (Exception e) {
        same("describeTopics missing: " + err(e));
      }

      // describeLogDirs: one dir, real sizes.
      Map<String, LogDirDescription> dirs = admin.describeLogDirs(List.of(self)).allDescriptions().get().get(self);
      same("describeLogDirs dirs=" + dirs.size());
      for (Map.Entry<String, LogDirDescription> e : dirs.entrySet()) {
        LogDirDescription ld = e.getValue();
        same("  error=" + ld.error() + " total>0=" + (ld.totalBytes().orElse(-1) > 0) + " usable>0=" + (ld.usableBytes().orElse(-1) > 0));
        own("  dir " + e.getKey() + " total=" + ld.totalBytes() + " usable=" + ld.usableBytes());
        for (int part = 0; part < 3; part++) {
          ReplicaInfo r = ld.replicaInfos().get(new TopicPartition(topic, part));
          same("  p" + part + " present=" + (r != null) + (r == null ? "" : " sizeAbove1000=" + (r.size() > 1000) + " empty=" + (r.size() == 0) + " lag=" + r.offsetLag() + " future=" + r.isFuture()));
          if (r != null) own("  p" + part + " size=" + r.size());
        }
      }

      // electLeaders: preferred and unclean, named partitions and all.
      TopicPartition tp0 = new TopicPartition(topic, 0);
      for (ElectionType type : ElectionType.values()) {
        Map<TopicPartition, Optional<Throwable>> r = admin.electLeaders(type, Set.of(tp0, new TopicPartition(topic, 9))).partitions().get();
        for (TopicPartition tp : new TreeSet<>(Comparator.comparing(TopicPartition::toString)) {{ addAll(r.keySet()); }}) {
          same("electLeaders " + type + " p" + tp.partition() + " " + r.get(tp).map(t -> t.getClass().getSimpleName() + ": " + t.getMessage()).orElse("elected"));
        }
        same("electLeaders " + type + " all: " + admin.electLeaders(type, null).partitions().get().size() + " changed");
      }

      // alterPartitionReassignments / listPartitionReassignments.
      admin.alterPartitionReassignments(Map.of(tp0, Optional.of(new NewPartitionReassignment(List.of(self))))).all().get();
      same("reassign p0 to self: ok");
      Map<TopicPartition, Optional<NewPartitionReassignment>> bad = new HashMap<>();
      bad.put(new TopicPartition(topic, 1), Optional.of(new NewPartitionReassignment(List.of(self + 100))));
      bad.put(new TopicPartition(topic, 2), Optional.empty());
      bad.put(new TopicPartition(topic, 7), Optional.of(new NewPartitionReassignment(List.of(self))));
      Map<TopicPartition, org.apache.kafka.common.KafkaFuture<Void>> results = admin.alterPartitionReassignments(bad).values();
      for (int part : new int[] {1, 2, 7}) {
        try {
          results.get(new TopicPartition(topic, part)).get();
          same("reassign p" + part + ": ok");
        } catch (Exception e) {
          same("reassign p" + part + ": " + err(e));
          own("reassign p" + part + " message: " + e.getCause().getMessage());
        }
      }
      same("listPartitionReassignments " + admin.listPartitionReassignments().reassignments().get().size());

      // describeMetadataQuorum.
      QuorumInfo q = admin.describeMetadataQuorum().quorumInfo().get();
      same("quorum leaderIsSelf=" + (q.leaderId() == self) + " voters=" + q.voters().stream().map(v -> v.replicaId() == self ? "self" : "other").collect(Collectors.toList())
        + " observers=" + q.observers().size() + " hw>=0=" + (q.highWatermark() >= 0) + " nodes=" + q.nodes().size());
      for (QuorumInfo.ReplicaState v : q.voters()) same("  voter lag=" + (q.highWatermark() - v.logEndOffset() <= 0) + " fetchTime=" + v.lastFetchTimestamp().isPresent());

      // listClientMetricsResources: none configured on either broker.
      same("listClientMetricsResources " + admin.listClientMetricsResources().all().get().size());

      // describeFeatures: ApiVersions' features.
      FeatureMetadata f = admin.describeFeatures().featureMetadata().get();
      same("features epochPresent=" + f.finalizedFeaturesEpoch().isPresent() + " metadata.version supported=" + f.supportedFeatures().containsKey("metadata.version"));
      for (Map.Entry<String, FinalizedVersionRange> e : new TreeMap<>(f.finalizedFeatures()).entrySet()) own("finalized " + e.getKey() + "=" + e.getValue().maxVersionLevel());
      for (Map.Entry<String, SupportedVersionRange> e : new TreeMap<>(f.supportedFeatures()).entrySet()) own("supported " + e.getKey() + "=" + e.getValue().minVersion() + ".." + e.getValue().maxVersion());

      // updateFeatures (UpdateFeatures v2): the levels in effect succeed, validateOnly or not; what
      // neither broker supports is refused the same way by both. A downgrade is checked validateOnly:
      // Kafka could make it, Fjord cannot (its features are what it does), so that line is its own.
      short mv = f.finalizedFeatures().get("metadata.version").maxVersionLevel();
      short gv = f.finalizedFeatures().get("group.version").maxVersionLevel();
      updateFeatures(admin, "same levels validateOnly", Map.of("metadata.version", new FeatureUpdate(mv, FeatureUpdate.UpgradeType.UPGRADE),
        "group.version", new FeatureUpdate(gv, FeatureUpdate.UpgradeType.UPGRADE)), true, true);
      updateFeatures(admin, "same levels", Map.of("metadata.version", new FeatureUpdate(mv, FeatureUpdate.UpgradeType.UPGRADE)), false, true);
      updateFeatures(admin, "unknown feature", Map.of("fjord.probe.unknown", new FeatureUpdate((short) 1, FeatureUpdate.UpgradeType.UPGRADE)), false, true);
      updateFeatures(admin, "group.version 99", Map.of("group.version", new FeatureUpdate((short) 99, FeatureUpdate.UpgradeType.UPGRADE)), false, true);
      updateFeatures(admin, "metadata.version below without downgrade type", Map.of("metadata.version", new FeatureUpdate((short) (mv - 1), FeatureUpdate.UpgradeType.UPGRADE)), true, true);
      updateFeatures(admin, "group.version safe downgrade validateOnly", Map.of("group.version", new FeatureUpdate((short) (gv - 1), FeatureUpdate.UpgradeType.SAFE_DOWNGRADE)), true, false);
    }
  }

  static void updateFeatures(Admin admin, String label, Map<String, FeatureUpdate> updates, boolean validateOnly, boolean same) {
    String out;
    try {
      admin.updateFeatures(updates, new UpdateFeaturesOptions().validateOnly(validateOnly)).all().get();
      out = "ok";
    } catch (Exception e) {
      Throwable c = e.getCause() != null ? e.getCause() : e;
      out = c.getClass().getSimpleName() + ": " + c.getMessage();
    }
    if (same) same("updateFeatures " + label + ": " + out);
    else own("updateFeatures " + label + ": " + out);
  }
}
