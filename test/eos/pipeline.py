# A consume-transform-produce pipeline with confluent-kafka-python (librdkafka), driven by
# eos.test.ts, which kills it with -9. Each consumed batch (read_committed) becomes one transaction:
# one output record per input record (value b"out:" + input value, same key), a pause (the
# transform taking time, so kills land inside open transactions) and the consumer's positions sent with send_offsets_to_transaction. init_transactions() runs before the consumer
# joins: it fences an older instance with the same transactional id and ends its transaction.
# A failed transaction is aborted and the consumer goes back to the batch's first offsets; a fatal
# error exits 2, anything else that cannot be aborted exits 3.
# Stdout: "ready", then "c <records>" per commit and "a" per abort.
# Args: bootstrap input output group transactional_id [pause_ms]
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def main() -> None:
    bootstrap, topic_in, topic_out, group, txn_id = sys.argv[1:6]
    pause = float(sys.argv[6]) / 1000 if len(sys.argv) > 6 else 0.0
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "transactional.id": txn_id,
        "transaction.timeout.ms": 10000,
        "broker.address.family": "v4",
    })
    producer.init_transactions(60)
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 3000,
        "heartbeat.interval.ms": 500,
        "broker.address.family": "v4",
    })
    consumer.subscribe([topic_in])
    print("ready", flush=True)
    while True:
        msgs = [m for m in consumer.consume(num_messages=40, timeout=0.2) if m.error() is None]
        if not msgs:
            continue
        first = {}
        for m in msgs:
            first.setdefault((m.topic(), m.partition()), m.offset())
        try:
            producer.begin_transaction()
            for m in msgs:
                producer.produce(topic_out, key=m.key(), value=b"out:" + m.value())
            if pause > 0:
                time.sleep(pause)
            positions = [tp for tp in consumer.position(consumer.assignment()) if tp.offset >= 0]
            producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 30)
            producer.commit_transaction(30)
            print(f"c {len(msgs)}", flush=True)
        except KafkaException as e:
            err = e.args[0]
            print(f"transaction failed: {err}", file=sys.stderr, flush=True)
            if err.fatal():
                sys.exit(2)
            try:
                producer.abort_transaction(30)
            except KafkaException as e2:
                print(f"abort failed: {e2.args[0]}", file=sys.stderr, flush=True)
                sys.exit(3)
            print("a", flush=True)
            for (t, p), off in first.items():
                consumer.seek(TopicPartition(t, p, off))


if __name__ == "__main__":
    main()
