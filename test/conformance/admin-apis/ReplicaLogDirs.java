// Kafka 4.1's Admin.alterReplicaLogDirs and describeReplicaLogDirs (AlterReplicaLogDirs, DescribeLogDirs)
// against one broker, run by test/conformance/replica-log-dirs-kafka.test.ts against Apache Kafka 4.1
// and Fjord. "= " lines must be the same from both; "~ " lines name the broker's own dir.
// Usage: java -cp '<kafka>/lib/*' ReplicaLogDirs.java <bootstrap> <topic>
import java.util.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.*;

public class ReplicaLogDirs {
  static void same(String s) { System.out.println("= " + s); }
  static void own(String s) { System.out.println("~ " + s); }
  static String err(Throwable t) {
    Throwable c = t instanceof java.util.concurrent.ExecutionException && t.getCause() != null ? t.getCause() : t;
    return c.getClass().getSimpleName();
  }
  static String alter(Admin admin, TopicPartitionReplica replica, String dir) {
    try {
      admin.alterReplicaLogDirs(Map.of(replica, dir)).all().get();
      return "ok";
    } catch (Exception e) {
      return err(e);
    }
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(p)) {
      int self = admin.describeCluster().nodes().get().iterator().next().id();
      admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get();
      Map<String, LogDirDescription> dirs = admin.describeLogDirs(List.of(self)).allDescriptions().get().get(self);
      same("log dirs " + dirs.size());
      String dir = dirs.keySet().iterator().next();
      own("dir " + dir);

      TopicPartitionReplica p0 = new TopicPartitionReplica(topic, 0, self);
      same("alter to its own dir: " + alter(admin, p0, dir));
      same("alter to a dir the broker does not have: " + alter(admin, p0, dir + "-elsewhere"));
      same("alter a relative dir: " + alter(admin, p0, "relative/dir"));
      same("alter an unknown topic: " + alter(admin, new TopicPartitionReplica(topic + "-none", 0, self), dir));
      same("alter an unknown partition: " + alter(admin, new TopicPartitionReplica(topic, 7, self), dir));
      try {
        Map<TopicPartitionReplica, String> both = new HashMap<>();
        both.put(p0, dir);
        both.put(new TopicPartitionReplica(topic, 1, self), dir + "-elsewhere");
        AlterReplicaLogDirsResult r = admin.alterReplicaLogDirs(both);
        for (Map.Entry<TopicPartitionReplica, KafkaFuture<Void>> e : new TreeMap<TopicPartitionReplica, KafkaFuture<Void>>(Comparator.comparing(TopicPartitionReplica::partition)) {{ putAll(r.values()); }}.entrySet()) {
          String outcome;
          try { e.getValue().get(); outcome = "ok"; } catch (Exception x) { outcome = err(x); }
          same("  in one request p" + e.getKey().partition() + ": " + outcome);
        }
      } catch (Exception e) {
        same("in one request: " + err(e));
      }

      Map<TopicPartitionReplica, DescribeReplicaLogDirsResult.ReplicaLogDirInfo> info =
          admin.describeReplicaLogDirs(List.of(p0, new TopicPartitionReplica(topic, 1, self))).all().get();
      for (int part = 0; part < 2; part++) {
        DescribeReplicaLogDirsResult.ReplicaLogDirInfo i = info.get(new TopicPartitionReplica(topic, part, self));
        same("describeReplicaLogDirs p" + part + " current=" + dir.equals(i.getCurrentReplicaLogDir()) + " future=" + i.getFutureReplicaLogDir()
            + " lag=" + i.getCurrentReplicaOffsetLag() + " futureLag=" + i.getFutureReplicaOffsetLag());
      }
    }
  }
}
