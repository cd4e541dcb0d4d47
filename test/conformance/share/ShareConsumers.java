// Two KafkaShareConsumers (Kafka 4.1, KIP-932) on one topic with explicit acknowledgement:
// every record must be ACCEPTed exactly once between them, and the one record each run RELEASEs
// first must come back (to either consumer) with delivery count 2. Lines starting "= " must be the
// same from every broker; "~ " lines are informational. Run by test/conformance/share-kafka.test.ts
// with Kafka 4.1's jars on the classpath:  java ShareConsumers.java <bootstrap> <topic> <group>
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.*;

public class ShareConsumers {
  static final int RECORDS = 100;
  static final String RELEASED = "r-7";

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], topic = args[1], group = args[2];
    Properties common = new Properties();
    common.put("bootstrap.servers", bootstrap);
    try (Admin admin = Admin.create(common)) {
      // One partition: both consumers are assigned it and share its records.
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
      // Start at the log start: the records are produced before the consumers join.
      ConfigResource res = new ConfigResource(ConfigResource.Type.GROUP, group);
      admin.incrementalAlterConfigs(Map.of(res, List.of(new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET)))).all().get();
    }
    Properties pp = new Properties();
    pp.putAll(common);
    try (Producer<String, String> producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
      for (int i = 0; i < RECORDS; i++) producer.send(new ProducerRecord<>(topic, 0, null, "r-" + i));
      producer.flush();
    }

    ConcurrentHashMap<String, Integer> accepted = new ConcurrentHashMap<>();
    AtomicBoolean releasedOnce = new AtomicBoolean(false);
    AtomicInteger redeliveryCount = new AtomicInteger(-1);
    AtomicBoolean done = new AtomicBoolean(false);
    int[] perConsumer = new int[2];
    List<String> errors = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch finished = new CountDownLatch(2);
    List<ShareConsumer<String, String>> consumers = new ArrayList<>();
    for (int c = 0; c < 2; c++) {
      Properties cp = new Properties();
      cp.putAll(common);
      cp.put("group.id", group);
      cp.put("client.id", "share-" + c);
      cp.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
      cp.put("max.poll.records", "10");
      consumers.add(new KafkaShareConsumer<>(cp, new StringDeserializer(), new StringDeserializer()));
    }
    for (int c = 0; c < 2; c++) {
      final int me = c;
      final ShareConsumer<String, String> consumer = consumers.get(c);
      new Thread(() -> {
        try {
          consumer.subscribe(List.of(topic));
          long deadline = System.currentTimeMillis() + 90_000;
          while (!done.get() && System.currentTimeMillis() < deadline) {
            ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
            for (ConsumerRecord<String, String> r : records) {
              if (r.value().equals(RELEASED) && releasedOnce.compareAndSet(false, true)) {
                consumer.acknowledge(r, AcknowledgeType.RELEASE);
                continue;
              }
              if (r.value().equals(RELEASED)) redeliveryCount.set(r.deliveryCount().orElse((short) -1));
              consumer.acknowledge(r, AcknowledgeType.ACCEPT);
              accepted.merge(r.value(), 1, Integer::sum);
              synchronized (perConsumer) { perConsumer[me]++; }
            }
            if (!records.isEmpty()) consumer.commitSync();
            if (accepted.size() >= RECORDS) done.set(true);
          }
        } catch (Exception e) {
          errors.add(e.toString());
        } finally {
          finished.countDown();
        }
      }).start();
    }
    finished.await();
    // Both members are still in the group: describe it before they leave.
    try (Admin admin = Admin.create(common)) {
      ShareGroupDescription d = admin.describeShareGroups(List.of(group)).all().get().get(group);
      System.out.println("= describe state " + d.groupState() + " members " + d.members().size());
      for (ShareMemberDescription m : d.members().stream().sorted(Comparator.comparing(ShareMemberDescription::clientId)).toList()) {
        System.out.println("= member " + m.clientId() + " partitions " + new TreeSet<>(m.assignment().topicPartitions().stream().map(tp -> tp.partition()).toList()));
      }
      ConfigResource res = new ConfigResource(ConfigResource.Type.GROUP, group);
      System.out.println("= group config share.auto.offset.reset=" + admin.describeConfigs(List.of(res)).all().get().get(res).get("share.auto.offset.reset").value());
    }
    for (ShareConsumer<String, String> c : consumers) c.close();
    System.out.println("= errors " + errors);
    System.out.println("= accepted " + accepted.size() + " of " + RECORDS);
    System.out.println("= accepted twice " + accepted.values().stream().filter(n -> n > 1).count());
    System.out.println("= released record came back with delivery count " + redeliveryCount.get());
    System.out.println("~ per consumer " + perConsumer[0] + " + " + perConsumer[1]);
    try (Admin admin = Admin.create(common)) {
      List<String> share = admin.listGroups(ListGroupsOptions.forShareGroups()).all().get().stream().map(GroupListing::groupId).filter(group::equals).toList();
      System.out.println("= listed as share group " + share);
    }
  }
}
