package fjord;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * A group consumer for Fjord's conformance tests. Arguments: bootstrap group topic [assignor]
 * [protocol]: protocol "consumer" (KIP-848, the default; assignor = group.remote.assignor) or
 * "classic" (assignor = partition.assignment.strategy class, default cooperative-sticky).
 * Prints one JSON line per record ({"p","o","v"}) and per assignment change ({"assigned":[...]}),
 * commits each record synchronously, and leaves the group on SIGTERM (or when stdin closes).
 */
public final class Kip848Consumer {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, args[1]);
    String protocol = args.length > 4 ? args[4] : "consumer";
    String assignor = args.length > 3 ? args[3] : "";
    props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
    if (protocol.equals("classic")) {
      props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
      props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
      props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
          assignor.isEmpty() ? "org.apache.kafka.clients.consumer.CooperativeStickyAssignor" : assignor);
    } else if (!assignor.isEmpty()) {
      props.put(ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG, assignor);
    }
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "100");
    KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props);
    Runtime.getRuntime().addShutdownHook(new Thread(consumer::wakeup));
    String topic = args[2];
    consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
      @Override public void onPartitionsRevoked(Collection<TopicPartition> partitions) {}
      @Override public void onPartitionsAssigned(Collection<TopicPartition> partitions) {}
    });
    TreeSet<Integer> last = null;
    try {
      while (true) {
        var records = consumer.poll(Duration.ofMillis(100));
        TreeSet<Integer> now = new TreeSet<>();
        for (TopicPartition tp : consumer.assignment()) now.add(tp.partition());
        if (!now.equals(last)) {
          last = now;
          System.out.println("{\"assigned\":" + new ArrayList<>(now) + "}");
          System.out.flush();
        }
        for (ConsumerRecord<String, String> r : records) {
          System.out.println("{\"p\":" + r.partition() + ",\"o\":" + r.offset() + ",\"v\":\"" + r.value() + "\"}");
          System.out.flush();
          try {
            consumer.commitSync(Map.of(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1)));
          } catch (Exception e) {
            System.out.println("{\"commit_error\":\"" + e.getClass().getSimpleName() + "\"}");
          }
        }
      }
    } catch (org.apache.kafka.common.errors.WakeupException e) {
      // shutting down
    } finally {
      consumer.close();
    }
  }
}
