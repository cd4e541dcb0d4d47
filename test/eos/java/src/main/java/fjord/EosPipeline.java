package fjord;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A consume-transform-produce pipeline with kafka-clients: each poll (read_committed) becomes one
 * transaction with one output record per input record (value "out:" + input value, same key), a
 * pause (the transform taking time, so kills land inside open transactions) and the consumer's next
 * offsets (sendOffsetsToTransaction with the consumer's group metadata).
 * initTransactions() runs before the consumer joins: it fences an older instance with the same
 * transactional id and ends its transaction. A failed transaction is aborted and the consumer goes
 * back to the batch's first offsets; a fatal error (fenced) exits 2, any other failure exits 3.
 * Stdout: "ready", then "c <records>" per commit and "a" per abort.
 * Args: bootstrap input output group transactionalId [pauseMs]
 */
public final class EosPipeline {
  public static void main(String[] args) {
    String bootstrap = args[0], input = args[1], output = args[2], group = args[3], txnId = args[4];
    long pauseMs = args.length > 5 ? Long.parseLong(args[5]) : 0;
    Properties pp = new Properties();
    pp.put("bootstrap.servers", bootstrap);
    pp.put("transactional.id", txnId);
    pp.put("transaction.timeout.ms", "10000");
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    Properties cp = new Properties();
    cp.put("bootstrap.servers", bootstrap);
    cp.put("group.id", group);
    cp.put("group.protocol", "classic");
    cp.put("isolation.level", "read_committed");
    cp.put("enable.auto.commit", "false");
    cp.put("auto.offset.reset", "earliest");
    cp.put("max.poll.records", "40");
    cp.put("session.timeout.ms", "3000");
    cp.put("heartbeat.interval.ms", "500");
    cp.put("key.deserializer", StringDeserializer.class.getName());
    cp.put("value.deserializer", StringDeserializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
      producer.initTransactions();
      try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
        consumer.subscribe(List.of(input));
        System.out.println("ready");
        while (true) {
          ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
          if (records.isEmpty()) continue;
          Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
          Map<TopicPartition, Long> first = new HashMap<>();
          for (ConsumerRecord<String, String> r : records) {
            TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            first.putIfAbsent(tp, r.offset());
            next.put(tp, new OffsetAndMetadata(r.offset() + 1));
          }
          try {
            producer.beginTransaction();
            for (ConsumerRecord<String, String> r : records) producer.send(new ProducerRecord<>(output, r.key(), "out:" + r.value()));
            if (pauseMs > 0) Thread.sleep(pauseMs);
            producer.sendOffsetsToTransaction(next, consumer.groupMetadata());
            producer.commitTransaction();
            System.out.println("c " + records.count());
          } catch (ProducerFencedException | OutOfOrderSequenceException | AuthorizationException e) {
            System.err.println("fatal: " + e);
            System.exit(2);
          } catch (KafkaException e) {
            System.err.println("transaction failed: " + e);
            producer.abortTransaction();
            System.out.println("a");
            for (Map.Entry<TopicPartition, Long> f : first.entrySet()) {
              if (consumer.assignment().contains(f.getKey())) consumer.seek(f.getKey(), f.getValue());
            }
          }
        }
      }
    } catch (Exception e) {
      System.err.println("exiting: " + e);
      System.exit(3);
    }
  }
}
