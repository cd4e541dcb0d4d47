"""kafka-python: KafkaProducer / KafkaConsumer (plain and in a group), KafkaAdminClient, every codec."""
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from common import Expect, fail, main, make_records


def create_topic(bootstrap, topic, partitions):
    a = KafkaAdminClient(bootstrap_servers=bootstrap)
    a.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    a.close()


def produce(bootstrap, topic, records, **conf):
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, **conf)
    futures = [p.send(topic, key=k.encode(), value=v.encode()) for k, v in records]
    p.flush(30)
    for f in futures:
        md = f.get(10)
        if md.offset < 0:
            fail(f"bad offset {md.offset}")
    p.close()


def consume(records, consumer):
    e = Expect(records)
    deadline = time.time() + 50
    while not e.done and time.time() < deadline:
        for _tp, msgs in consumer.poll(timeout_ms=200).items():
            for m in msgs:
                e.add(m.key, m.value)
    e.verify()


def produce_consume(bootstrap, topic):
    create_topic(bootstrap, topic, 3)
    records = make_records(1000, topic)
    produce(bootstrap, topic, records)
    c = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    c.assign([TopicPartition(topic, p) for p in range(3)])
    c.seek_to_beginning()
    consume(records, c)
    c.close()


def group_consumer(bootstrap, topic, group, **conf):
    """A group consumer that joins only once it knows the topic's partitions. kafka-python 3.0.12
    joining before its first Metadata answer assigns nothing as leader, rejoins when the metadata
    arrives, and can leave that second join unfinished for good when the poll it runs in ends first
    (then no partition is assigned until the session expires): it happens against Apache Kafka 4.1
    too (docs/compatibility.md). Asking for the topic's partitions first takes the race away."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, **conf)
    deadline = time.time() + 20
    while not c.partitions_for_topic(topic):
        if time.time() > deadline:
            fail(f"no metadata for {topic}")
        time.sleep(0.1)
    c.subscribe([topic])
    return c


def consumer_group(bootstrap, topic):
    create_topic(bootstrap, topic, 3)
    records = make_records(500, topic)
    produce(bootstrap, topic, records)
    group = topic + "-group"
    c = group_consumer(bootstrap, topic, group, auto_offset_reset="earliest", enable_auto_commit=False)
    consume(records, c)
    c.commit()
    c.close()
    a = KafkaAdminClient(bootstrap_servers=bootstrap)
    # kafka-python 3 renamed list_consumer_group_offsets(group) to list_group_offsets({group: None}).
    offsets = a.list_group_offsets({group: None})[group]
    total = sum(o.offset for o in offsets.values())
    if total != len(records):
        fail(f"committed offsets add up to {total}, want {len(records)}")
    a.close()


def admin(bootstrap, topic):
    a = KafkaAdminClient(bootstrap_servers=bootstrap)
    a.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    if topic not in a.list_topics():
        fail("created topic not listed")
    d = a.describe_topics([topic])
    if len(d[0]["partitions"]) != 2:
        fail(f"describe_topics: {d}")
    a.delete_topics([topic])
    a.close()


def codec(name):
    def run(bootstrap, topic):
        create_topic(bootstrap, topic, 2)
        records = make_records(500, topic)
        produce(bootstrap, topic, records, compression_type=name)
        c = group_consumer(bootstrap, topic, topic + "-g", auto_offset_reset="earliest")
        consume(records, c)
        c.close()
    return run


main({
    "produce-consume": produce_consume,
    "consumer-group": consumer_group,
    "admin": admin,
    "compression-gzip": codec("gzip"),
    "compression-snappy": codec("snappy"),
    "compression-lz4": codec("lz4"),
    "compression-zstd": codec("zstd"),
})
