// Apache Kafka's Java client against Fjord's security listeners (each scenario on a broker of its
// own, see run.ts startSecureFjord): SASL_SSL with SCRAM-SHA-256 and -512; mutual TLS on the SSL
// listener (ssl.client.auth=required), the principal taken from the client certificate and ACLs on
// it allowing one topic and refusing another; re-authentication (KIP-368) while producing; a wrong
// password. Run as: java -cp ... Security <scenario> <bootstrap> <topic>; exits 0 when every check
// held, else prints "FAIL: <reason>".
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.acl.*;
import org.apache.kafka.common.errors.*;
import org.apache.kafka.common.resource.*;
import org.apache.kafka.common.serialization.*;

public class Security {
  static String topic;

  static String env(String name) {
    String v = System.getenv(name);
    if (v == null || v.isEmpty()) Conformance.fail("environment variable " + name + " is not set (run by run.ts)");
    return v;
  }

  static Properties tls(String listener) {
    Properties p = new Properties();
    p.put("bootstrap.servers", env(listener));
    p.put("ssl.truststore.type", "PEM");
    p.put("ssl.truststore.location", env("FJORD_CA"));
    return p;
  }

  static Properties scram(String mechanism, String user, String password) {
    Properties p = tls("FJORD_SASL_SSL");
    p.put("security.protocol", "SASL_SSL");
    p.put("sasl.mechanism", mechanism);
    p.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user + "\" password=\"" + password + "\";");
    return p;
  }

  static Properties alice(String mechanism) { return scram(mechanism, env("FJORD_USER"), env("FJORD_PASSWORD")); }

  static Properties admin() { return scram("SCRAM-SHA-512", env("FJORD_ADMIN_USER"), env("FJORD_ADMIN_PASSWORD")); }

  /** The SSL listener; with the client certificate (key and chain in one PEM file) or without any. */
  static Properties mtls(boolean withCertificate) {
    Properties p = tls("FJORD_SSL");
    p.put("security.protocol", "SSL");
    if (withCertificate) {
      p.put("ssl.keystore.type", "PEM");
      p.put("ssl.keystore.location", env("FJORD_CLIENT_BUNDLE"));
    }
    return p;
  }

  static KafkaProducer<String, String> producer(Properties base) {
    Properties p = new Properties();
    p.putAll(base);
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("linger.ms", "5");
    p.put("max.block.ms", "20000");
    p.put("delivery.timeout.ms", "30000");
    p.put("request.timeout.ms", "20000");
    return new KafkaProducer<>(p);
  }

  static void produce(Properties base, String t, List<String[]> recs) throws Exception {
    try (KafkaProducer<String, String> producer = producer(base)) {
      List<Future<RecordMetadata>> fs = new ArrayList<>();
      for (String[] r : recs) fs.add(producer.send(new ProducerRecord<>(t, r[0], r[1])));
      for (Future<RecordMetadata> f : fs) f.get(30, TimeUnit.SECONDS);
    }
  }

  static void consume(Properties base, String t, List<String[]> recs, String group) {
    Properties p = new Properties();
    p.putAll(base);
    p.put("group.id", group);
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    Conformance.Expect e = new Conformance.Expect(recs);
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      c.subscribe(List.of(t));
      long deadline = System.currentTimeMillis() + 40_000;
      while (!e.done() && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) e.add(r.key(), r.value());
      }
      c.commitSync();
    }
    e.verify();
  }

  static void roundTrip(Properties base, int n) throws Exception {
    List<String[]> recs = Conformance.records(n, topic);
    produce(base, topic, recs);
    consume(base, topic, recs, topic + "-g");
  }

  /** The cause of a failed future, or null when it succeeded. */
  static Throwable failureOf(Callable<?> call) {
    try {
      call.call();
      return null;
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      return e;
    }
  }

  static void mtlsAcl() throws Exception {
    String principal = env("FJORD_MTLS_PRINCIPAL");
    String denied = topic + "-denied";
    try (Admin admin = Admin.create(admin())) {
      admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1), new NewTopic(denied, 1, (short) 1))).all().get(20, TimeUnit.SECONDS);
      admin.createAcls(List.of(
          new AclBinding(new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL), new AccessControlEntry(principal, "*", AclOperation.WRITE, AclPermissionType.ALLOW)),
          new AclBinding(new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL), new AccessControlEntry(principal, "*", AclOperation.READ, AclPermissionType.ALLOW)),
          new AclBinding(new ResourcePattern(ResourceType.GROUP, topic + "-g", PatternType.LITERAL), new AccessControlEntry(principal, "*", AclOperation.READ, AclPermissionType.ALLOW)),
          // The other topic is named by an ACL for someone else: the certificate's principal may not use it.
          new AclBinding(new ResourcePattern(ResourceType.TOPIC, denied, PatternType.LITERAL), new AccessControlEntry("User:" + env("FJORD_USER"), "*", AclOperation.ALL, AclPermissionType.ALLOW))
      )).all().get(20, TimeUnit.SECONDS);
    }
    // Allowed: the certificate's principal produces and consumes the topic its ACLs name.
    roundTrip(mtls(true), 200);
    // Refused: the other topic, with Kafka's exception.
    Throwable t = failureOf(() -> { produce(mtls(true), denied, Conformance.records(1, denied)); return null; });
    if (!(t instanceof TopicAuthorizationException)) Conformance.fail("producing to " + denied + " over mTLS: want TopicAuthorizationException, got " + t);
    // The ACLs are the certificate's: alice (SCRAM) is refused the mTLS principal's topic.
    t = failureOf(() -> { produce(alice("SCRAM-SHA-512"), topic, Conformance.records(1, topic + "-alice")); return null; });
    if (!(t instanceof TopicAuthorizationException)) Conformance.fail("alice producing to " + topic + ": want TopicAuthorizationException, got " + t);
    // Without a client certificate the SSL listener refuses the connection.
    Properties noCert = mtls(false);
    noCert.put("default.api.timeout.ms", "15000");
    noCert.put("request.timeout.ms", "10000");
    try (Admin a = Admin.create(noCert)) {
      t = failureOf(() -> a.listTopics().names().get(20, TimeUnit.SECONDS));
    }
    if (!(t instanceof SslAuthenticationException)) Conformance.fail("a client without a certificate: want SslAuthenticationException, got " + t);
  }

  /** Keeps producing for several session lifetimes; the client must have re-authenticated (its metrics). */
  static void reauth() throws Exception {
    List<String[]> recs = Conformance.records(80, topic);
    Properties base = alice("SCRAM-SHA-512");
    try (KafkaProducer<String, String> producer = producer(base)) {
      for (String[] r : recs) {
        producer.send(new ProducerRecord<>(topic, r[0], r[1])).get(30, TimeUnit.SECONDS);
        Thread.sleep(100);
      }
      double ok = 0, failed = 0;
      for (Map.Entry<MetricName, ? extends Metric> m : producer.metrics().entrySet()) {
        Object v = m.getValue().metricValue();
        if (!(v instanceof Double)) continue;
        if (m.getKey().name().equals("successful-reauthentication-total")) ok += (Double) v;
        if (m.getKey().name().equals("failed-reauthentication-total")) failed += (Double) v;
      }
      System.out.println("producer re-authentications: " + ok + " successful, " + failed + " failed");
      if (ok < 3) Conformance.fail("the producer re-authenticated " + ok + " times in ~8 s of 1.5 s sessions, want at least 3");
      if (failed > 0) Conformance.fail(failed + " re-authentications failed");
    }
    consume(base, topic, recs, topic + "-g");
  }

  static void wrongPassword() throws Exception {
    Properties p = scram("SCRAM-SHA-512", env("FJORD_USER"), "not-the-password");
    p.put("default.api.timeout.ms", "15000");
    p.put("request.timeout.ms", "10000");
    long started = System.currentTimeMillis();
    Throwable t;
    try (Admin a = Admin.create(p)) {
      t = failureOf(() -> a.listTopics().names().get(20, TimeUnit.SECONDS));
    }
    if (!(t instanceof SaslAuthenticationException)) Conformance.fail("a wrong password: want SaslAuthenticationException, got " + t);
    if (System.currentTimeMillis() - started > 15_000) Conformance.fail("the failure took over 15 s to arrive");
    // The broker keeps serving: the right password works.
    roundTrip(alice("SCRAM-SHA-512"), 50);
  }

  public static void main(String[] args) throws Exception {
    String scenario = args[0];
    topic = args[2];
    Thread watchdog = new Thread(() -> {
      try { Thread.sleep(100_000); Conformance.fail("scenario did not finish in 100 s"); } catch (InterruptedException ignored) { }
    });
    watchdog.setDaemon(true);
    watchdog.start();
    try {
      switch (scenario) {
        case "sasl-ssl-scram-sha-256" -> roundTrip(alice("SCRAM-SHA-256"), 300);
        case "sasl-ssl-scram-sha-512" -> roundTrip(alice("SCRAM-SHA-512"), 300);
        case "mtls-acl" -> mtlsAcl();
        case "reauth-scram" -> reauth();
        case "sasl-wrong-password" -> wrongPassword();
        default -> Conformance.fail("unknown scenario " + scenario);
      }
    } catch (Throwable e) {
      Conformance.fail(e.toString());
    }
    System.out.flush();
    Runtime.getRuntime().halt(0);
  }
}
