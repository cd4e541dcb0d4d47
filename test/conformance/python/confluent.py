"""confluent-kafka (Python, librdkafka): producer with delivery reports; consumer with group.id and
auto.offset.reset=earliest; AdminClient; every codec; a transactional consume-transform-produce loop.
Security (each on a broker of its own, see run.ts startSecureFjord): SASL_SSL with SCRAM-SHA-512,
SASL_SSL with OAUTHBEARER (an oauth_cb handing librdkafka a signed ES256 JWT the broker checks
against its JWKS file), a wrong password."""
import os
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient, NewTopic, ConfigResource

from common import Expect, fail, main, make_records


def create_topic(bootstrap, topic, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for t, f in admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)]).items():
        f.result(20)


def produce(bootstrap, topic, records, **conf):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, **conf})
    reports = []
    for k, v in records:
        while True:
            try:
                p.produce(topic, key=k, value=v, on_delivery=lambda err, msg: reports.append((err, msg)))
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    left = p.flush(30)
    if left:
        fail(f"flush left {left} messages")
    errors = [e for e, _ in reports if e is not None]
    if errors:
        fail(f"delivery error: {errors[0]}")
    if len(reports) != len(records):
        fail(f"{len(reports)} delivery reports for {len(records)} messages")
    offsets = {}
    for _, m in reports:
        offsets.setdefault(m.partition(), []).append(m.offset())
    for part, offs in offsets.items():
        if offs != sorted(offs) or len(set(offs)) != len(offs):
            fail(f"delivery report offsets on partition {part} are not increasing")


def consume(bootstrap, topic, records, group, **conf):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": True, **conf})
    c.subscribe([topic])
    e = Expect(records)
    import time
    deadline = time.time() + 50
    while not e.done and time.time() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                continue
            fail(f"consumer error: {m.error()}")
        e.add(m.key(), m.value())
    committed = c.commit(asynchronous=False)
    c.close()
    e.verify()
    return committed


def produce_delivery_reports(bootstrap, topic):
    create_topic(bootstrap, topic, 3)
    records = make_records(1000, topic)
    produce(bootstrap, topic, records)
    consume(bootstrap, topic, records, topic + "-check")


def consumer_group_earliest(bootstrap, topic):
    records = make_records(400, topic)
    produce(bootstrap, topic, records)  # auto-creates the topic
    group = topic + "-group"
    committed = consume(bootstrap, topic, records, group)
    if sum(tp.offset for tp in committed) != len(records):
        fail(f"committed offsets add up to {sum(tp.offset for tp in committed)}, want {len(records)}")
    # A new member of the same group starts from the committed offsets: only new records arrive.
    more = make_records(20, topic + "-more")
    produce(bootstrap, topic, more)
    consume(bootstrap, topic, more, group)


def admin(bootstrap, topic):
    a = AdminClient({"bootstrap.servers": bootstrap})
    a.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1, config={"retention.ms": "3600000"})])[topic].result(20)
    md = a.list_topics(timeout=5)
    if topic not in md.topics or len(md.topics[topic].partitions) != 2:
        fail("created topic not listed with 2 partitions")
    res = a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)])
    cfg = list(res.values())[0].result(10)
    if cfg["retention.ms"].value != "3600000":
        fail(f"retention.ms is {cfg['retention.ms'].value}")
    a.delete_topics([topic])[topic].result(20)


def transactions(bootstrap, topic):
    """Exactly-once copy of the input topic to an output topic: init_transactions, one transaction
    per poll with send_offsets_to_transaction and commit_transaction, after one aborted transaction
    (records and offsets). A read_committed consumer of the output sees every copy once and none of
    the aborted records; the group's committed offsets are the copied ones."""
    out = topic + "-out"
    group = topic + "-etl"
    a = AdminClient({"bootstrap.servers": bootstrap})
    for f in a.create_topics([NewTopic(t, num_partitions=3, replication_factor=1) for t in (topic, out)]).values():
        f.result(20)
    records = make_records(300, topic)
    produce(bootstrap, topic, records)
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": topic + "-tx"})
    p.init_transactions(30)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "isolation.level": "read_committed"})
    p.begin_transaction()
    for i in range(50):
        p.produce(out, key=f"a{i}", value=f"aborted:{i}")
    p.send_offsets_to_transaction([TopicPartition(topic, 0, 999)], c.consumer_group_metadata(), 30)
    p.abort_transaction(30)
    c.subscribe([topic])
    copied = 0
    deadline = time.time() + 50
    while copied < len(records) and time.time() < deadline:
        msgs = c.consume(500, 0.5)
        msgs = [m for m in msgs if not m.error()]
        if not msgs:
            continue
        p.begin_transaction()
        for m in msgs:
            p.produce(out, key=m.key(), value=b"out:" + m.value())
        p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
        p.commit_transaction(30)
        copied += len(msgs)
    c.close()
    if copied != len(records):
        fail(f"copied {copied} of {len(records)} records")
    check = Consumer({"bootstrap.servers": bootstrap, "group.id": topic + "-check", "auto.offset.reset": "earliest",
                      "isolation.level": "read_committed"})
    check.subscribe([out])
    e = Expect([(k, "out:" + v) for k, v in records])
    deadline = time.time() + 40
    extra_until = None
    while time.time() < deadline and (extra_until is None or time.time() < extra_until):
        m = check.poll(0.2)
        if e.done and extra_until is None:
            extra_until = time.time() + 1  # a moment more for anything that should not be there
        if m is None or m.error():
            continue
        e.add(m.key(), m.value())
    check.close()
    e.verify()
    offsets = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(20)
    total = sum(tp.offset for tp in offsets.topic_partitions if tp.offset >= 0)
    if total != len(records):
        fail(f"the group's committed offsets add up to {total}, want {len(records)} (the aborted offsets must not count)")


def codec(name):
    def run(bootstrap, topic):
        create_topic(bootstrap, topic, 2)
        records = make_records(500, topic)
        produce(bootstrap, topic, records, **{"compression.type": name})
        consume(bootstrap, topic, records, topic + "-g")
    return run


def scram(password=None):
    return {"security.protocol": "SASL_SSL", "ssl.ca.location": os.environ["FJORD_CA"], "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": os.environ["FJORD_USER"], "sasl.password": password or os.environ["FJORD_PASSWORD"]}


def secure_round_trip(topic, conf, n=300):
    """Produce (delivery reports) and consume back in a group, both over the SASL_SSL listener."""
    broker = os.environ["FJORD_SASL_SSL"]
    records = make_records(n, topic)
    produce(broker, topic, records, **conf)
    consume(broker, topic, records, topic + "-g", **conf)


def oauthbearer():
    calls = []

    def token(_config):
        # The token run.ts signed for alice (issuer, audience, kid as the broker expects); librdkafka
        # refreshes before expiry by calling back.
        calls.append(1)
        return os.environ["FJORD_OAUTH_TOKEN"], time.time() + 600, os.environ["FJORD_USER"], {}

    return calls, {"security.protocol": "SASL_SSL", "ssl.ca.location": os.environ["FJORD_CA"], "sasl.mechanisms": "OAUTHBEARER", "oauth_cb": token}


def sasl_ssl_oauthbearer(_bootstrap, topic):
    calls, conf = oauthbearer()
    secure_round_trip(topic, conf)
    if not calls:
        fail("oauth_cb was never called")


def sasl_wrong_password(_bootstrap, topic):
    errors = []
    a = AdminClient({"bootstrap.servers": os.environ["FJORD_SASL_SSL"], **scram("not-the-password"), "error_cb": errors.append})
    started = time.time()
    try:
        a.list_topics(timeout=5)
        fail("list_topics with a wrong password succeeded")
    except KafkaException:
        pass
    a.poll(1)  # serves error_cb
    if not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
        fail(f"no authentication error reported (errors: {[str(e) for e in errors][:2]})")
    if time.time() - started > 20:
        fail("took over 20 s to report the failure")
    # The broker keeps serving: the right password works.
    secure_round_trip(topic, scram(), 50)


main({
    "sasl-ssl-scram-sha-512": lambda _b, topic: secure_round_trip(topic, scram()),
    "sasl-ssl-oauthbearer": sasl_ssl_oauthbearer,
    "sasl-wrong-password": sasl_wrong_password,
    "produce-delivery-reports": produce_delivery_reports,
    "consumer-group-earliest": consumer_group_earliest,
    "admin": admin,
    "transactions": transactions,
    "compression-gzip": codec("gzip"),
    "compression-snappy": codec("snappy"),
    "compression-lz4": codec("lz4"),
    "compression-zstd": codec("zstd"),
})
