// Apache Kafka's Java client (kafka-clients 3.9 and 4.x, compiled against each): an idempotent
// producer with the defaults (acks=all, enable.idempotence=true), a classic consumer group of two,
// AdminClient, every codec, and a transactional consume-transform-produce loop. Run as: java -cp ... Conformance <scenario> <bootstrap> <topic>;
// exits 0 when every produced record came back, else prints "FAIL: <reason>".
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.*;

public class Conformance {
  static String bootstrap, topic;

  static void fail(String reason) {
    System.out.println("FAIL: " + reason);
    System.out.flush();
    Runtime.getRuntime().halt(1);
  }

  static List<String[]> records(int n, String tag) {
    List<String[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) out.add(new String[] {"k" + i, tag + ":v" + i + ":" + "x".repeat(i % 50)});
    return out;
  }

  /** Every produced record consumed exactly once, with its key, and nothing else. */
  static final class Expect {
    final Map<String, String> want = new HashMap<>();
    final Map<String, Integer> seen = new ConcurrentHashMap<>();
    final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    Expect(List<String[]> recs) { for (String[] r : recs) want.put(r[1], r[0]); }
    void add(String key, String value) {
      String k = want.get(value);
      if (k == null) { problems.add("unexpected record " + value); return; }
      if (!k.equals(key)) problems.add("record " + value + " has key " + key + ", want " + k);
      seen.merge(value, 1, Integer::sum);
    }
    boolean done() { return seen.size() == want.size(); }
    void verify() {
      List<String> p = new ArrayList<>(problems);
      long missing = want.keySet().stream().filter(v -> !seen.containsKey(v)).count();
      long dups = seen.values().stream().filter(n -> n > 1).count();
      if (missing > 0) p.add(missing + " of " + want.size() + " records never consumed");
      if (dups > 0) p.add(dups + " records consumed more than once");
      if (!p.isEmpty()) fail(String.join("; ", p.subList(0, Math.min(3, p.size()))));
    }
  }

  static Properties common() {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    return p;
  }

  static void createTopic(int partitions) throws Exception {
    try (Admin admin = Admin.create(common())) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(20, TimeUnit.SECONDS);
    }
  }

  static void produce(List<String[]> recs, String compression) throws Exception {
    Properties p = common();
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("linger.ms", "5");
    if (compression != null) p.put("compression.type", compression);
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      List<Future<RecordMetadata>> fs = new ArrayList<>();
      for (String[] r : recs) fs.add(producer.send(new ProducerRecord<>(topic, r[0], r[1])));
      producer.flush();
      Map<Integer, Long> last = new HashMap<>();
      for (Future<RecordMetadata> f : fs) {
        RecordMetadata md = f.get(20, TimeUnit.SECONDS);
        Long prev = last.put(md.partition(), md.offset());
        if (prev != null && md.offset() <= prev) fail("offsets not increasing on partition " + md.partition());
      }
    }
  }

  static KafkaConsumer<String, String> consumer(String group) {
    return consumer(group, new Properties());
  }

  static KafkaConsumer<String, String> consumer(String group, Properties extra) {
    Properties p = common();
    p.putAll(extra);
    p.put("group.id", group);
    p.put("auto.offset.reset", "earliest");
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    p.put("enable.auto.commit", "false");
    return new KafkaConsumer<>(p);
  }

  static void consumeAll(List<String[]> recs, String group) {
    Expect e = new Expect(recs);
    try (KafkaConsumer<String, String> c = consumer(group)) {
      c.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + 50_000;
      while (!e.done() && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) e.add(r.key(), r.value());
      }
      c.commitSync();
    }
    e.verify();
  }

  public static void main(String[] args) throws Exception {
    String scenario = args[0];
    bootstrap = args[1];
    topic = args[2];
    Thread watchdog = new Thread(() -> {
      try { Thread.sleep(100_000); fail("scenario did not finish in 100 s"); } catch (InterruptedException ignored) { }
    });
    watchdog.setDaemon(true);
    watchdog.start();
    try {
      switch (scenario) {
        case "idempotent-produce-consume" -> {
          createTopic(3);
          List<String[]> recs = records(1000, topic);
          produce(recs, null);
          consumeAll(recs, topic + "-check");
        }
        case "consumer-group" -> consumerGroup();
        case "admin" -> admin();
        case "transactions" -> transactions();
        default -> {
          if (!scenario.startsWith("compression-")) fail("unknown scenario " + scenario);
          createTopic(2);
          List<String[]> recs = records(500, topic);
          produce(recs, scenario.substring("compression-".length()));
          consumeAll(recs, topic + "-g");
        }
      }
    } catch (Throwable t) {
      t.printStackTrace(System.out);
      Throwable root = t;
      while (root.getCause() != null) root = root.getCause();
      fail(t.getClass().getSimpleName() + ": " + t.getMessage() + (root != t ? " (cause: " + root + ")" : ""));
    }
    System.out.flush();
    Runtime.getRuntime().halt(0);
  }

  /**
   * Exactly-once copy: a transactional producer (initTransactions) copies the input topic to an
   * output topic, one transaction per poll with sendOffsetsToTransaction and commitTransaction,
   * after one aborted transaction (records and offsets). A read_committed consumer of the output
   * sees every copied record once and none of the aborted; the group's offsets are the copied ones.
   */
  static void transactions() throws Exception {
    String out = topic + "-out";
    String group = topic + "-etl";
    try (Admin admin = Admin.create(common())) {
      admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1), new NewTopic(out, 3, (short) 1))).all().get(20, TimeUnit.SECONDS);
    }
    List<String[]> in = records(300, topic);
    produce(in, null);
    List<String[]> want = new ArrayList<>();
    for (String[] r : in) want.add(new String[] {r[0], "out:" + r[1]});
    Properties pp = common();
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    pp.put("transactional.id", topic + "-tx");
    Properties cp = new Properties();
    cp.put("isolation.level", "read_committed");
    int copied = 0;
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp); KafkaConsumer<String, String> c = consumer(group, cp)) {
      producer.initTransactions();
      producer.beginTransaction();
      for (int i = 0; i < 50; i++) producer.send(new ProducerRecord<>(out, "a" + i, "aborted:" + i));
      producer.sendOffsetsToTransaction(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(999)), new ConsumerGroupMetadata(group));
      producer.flush();
      producer.abortTransaction();
      c.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + 50_000;
      while (copied < in.size() && System.currentTimeMillis() < deadline) {
        ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(200));
        if (rs.isEmpty()) continue;
        producer.beginTransaction();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, String> r : rs) {
          producer.send(new ProducerRecord<>(out, r.key(), "out:" + r.value()));
          offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
          copied++;
        }
        producer.sendOffsetsToTransaction(offsets, c.groupMetadata());
        producer.commitTransaction();
      }
    }
    if (copied != in.size()) fail("copied " + copied + " of " + in.size() + " records");
    Expect e = new Expect(want);
    try (KafkaConsumer<String, String> c = consumer(topic + "-check", cp)) {
      c.subscribe(List.of(out));
      long deadline = System.currentTimeMillis() + 40_000;
      while (!e.done() && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) e.add(r.key(), r.value());
      }
      for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) e.add(r.key(), r.value());
    }
    e.verify();
    try (Admin admin = Admin.create(common())) {
      long sum = 0;
      for (OffsetAndMetadata o : admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(20, TimeUnit.SECONDS).values()) sum += o.offset();
      if (sum != in.size()) fail("the group's committed offsets add up to " + sum + ", want " + in.size() + " (the aborted offsets must not count)");
    }
  }

  /** Two members of one classic group share four partitions; committed offsets reach the end. */
  static void consumerGroup() throws Exception {
    createTopic(4);
    List<String[]> recs = records(800, topic);
    produce(recs, null);
    String group = topic + "-group";
    Expect e = new Expect(recs);
    AtomicBoolean stop = new AtomicBoolean();
    List<Set<Integer>> assigned = List.of(ConcurrentHashMap.newKeySet(), ConcurrentHashMap.newKeySet());
    List<Thread> threads = new ArrayList<>();
    List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
    for (int i = 0; i < 2; i++) {
      final int idx = i;
      Thread t = new Thread(() -> {
        try (KafkaConsumer<String, String> c = consumer(group)) {
          c.subscribe(List.of(topic));
          while (!stop.get()) {
            ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(100));
            for (ConsumerRecord<String, String> r : rs) { e.add(r.key(), r.value()); }
            if (!rs.isEmpty()) c.commitSync();
            for (TopicPartition tp : c.assignment()) assigned.get(idx).add(tp.partition());
          }
        } catch (Throwable err) { errors.add(err); }
      });
      t.start();
      threads.add(t);
    }
    long deadline = System.currentTimeMillis() + 60_000;
    while ((!e.done() || assigned.get(0).isEmpty() || assigned.get(1).isEmpty()) && System.currentTimeMillis() < deadline && errors.isEmpty()) Thread.sleep(50);
    stop.set(true);
    for (Thread t : threads) t.join(20_000);
    if (!errors.isEmpty()) fail("consumer: " + errors.get(0));
    e.verify();
    if (assigned.get(0).isEmpty() || assigned.get(1).isEmpty()) fail("a member never got a partition: " + assigned);
    try (Admin admin = Admin.create(common())) {
      Map<TopicPartition, OffsetAndMetadata> offs = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
      long total = offs.values().stream().mapToLong(OffsetAndMetadata::offset).sum();
      if (total != recs.size()) fail("committed offsets add up to " + total + ", want " + recs.size());
      ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get(10, TimeUnit.SECONDS).get(group);
      if (!d.members().isEmpty()) fail("members still listed after close: " + d.members().size());
    }
  }

  static void admin() throws Exception {
    try (Admin admin = Admin.create(common())) {
      admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1).configs(Map.of("retention.ms", "3600000")))).all().get(20, TimeUnit.SECONDS);
      if (!admin.listTopics().names().get().contains(topic)) fail("created topic not listed");
      TopicDescription td = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
      if (td.partitions().size() != 2) fail("describeTopics: " + td);
      admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(3))).all().get(10, TimeUnit.SECONDS);
      ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      String v = admin.describeConfigs(List.of(res)).all().get().get(res).get("retention.ms").value();
      if (!"3600000".equals(v)) fail("retention.ms is " + v);
      admin.incrementalAlterConfigs(Map.of(res, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET)))).all().get(10, TimeUnit.SECONDS);
      v = admin.describeConfigs(List.of(res)).all().get().get(res).get("retention.ms").value();
      if (!"7200000".equals(v)) fail("after incrementalAlterConfigs retention.ms is " + v);
      DescribeClusterResult cluster = admin.describeCluster();
      // One broker, or as many as the bootstrap list names (test:conformance --cluster).
      if (cluster.nodes().get().size() != bootstrap.split(",").length || cluster.controller().get() == null) fail("describeCluster");
      if (admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size() != 3) fail("createPartitions did not take");
      admin.deleteTopics(List.of(topic)).all().get(20, TimeUnit.SECONDS);
      long deadline = System.currentTimeMillis() + 10_000;
      while (admin.listTopics().names().get().contains(topic)) {
        if (System.currentTimeMillis() > deadline) fail("deleted topic still listed");
        Thread.sleep(100);
      }
    }
  }
}
