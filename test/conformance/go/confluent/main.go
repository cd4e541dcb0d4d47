// confluentinc/confluent-kafka-go/v2 (cgo, bundled librdkafka): Produce with delivery reports read
// from Events() and Flush; a consumer with SubscribeTopics and Poll; every codec; a transactional
// consume-transform-produce loop.
package main

import (
	"context"
	"fmt"
	"time"

	"fjord.dev/conformance/internal/check"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

func createTopic(a check.Args, partitions int) {
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": a.Bootstrap})
	check.Must(err, "NewAdminClient")
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: a.Topic, NumPartitions: partitions, ReplicationFactor: 1}})
	check.Must(err, "CreateTopics")
	if res[0].Error.Code() != kafka.ErrNoError {
		check.Fail("CreateTopics: %v", res[0].Error)
	}
}

func produce(a check.Args, records []check.Record, compression string) {
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": a.Bootstrap, "acks": "all", "compression.type": compression, "linger.ms": 5})
	check.Must(err, "NewProducer")
	defer p.Close()
	delivered := make(chan error, len(records))
	go func() {
		for ev := range p.Events() {
			if m, ok := ev.(*kafka.Message); ok {
				delivered <- m.TopicPartition.Error
			}
		}
	}()
	for _, r := range records {
		check.Must(p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &a.Topic, Partition: kafka.PartitionAny}, Key: []byte(r.Key), Value: []byte(r.Value)}, nil), "Produce")
	}
	if left := p.Flush(30000); left != 0 {
		check.Fail("Flush left %d messages", left)
	}
	for range records {
		select {
		case err := <-delivered:
			check.Must(err, "delivery report")
		case <-time.After(10 * time.Second):
			check.Fail("missing delivery reports")
		}
	}
}

func consume(a check.Args, records []check.Record) {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": a.Bootstrap, "group.id": a.Topic + "-group", "auto.offset.reset": "earliest"})
	check.Must(err, "NewConsumer")
	defer c.Close()
	check.Must(c.SubscribeTopics([]string{a.Topic}, nil), "SubscribeTopics")
	e := check.NewExpect(records)
	deadline := time.Now().Add(50 * time.Second)
	for !e.Done() && time.Now().Before(deadline) {
		switch ev := c.Poll(100).(type) {
		case *kafka.Message:
			e.Add(ev.Key, ev.Value)
		case kafka.Error:
			if ev.IsFatal() {
				check.Fail("consumer: %v", ev)
			}
		}
	}
	e.Verify()
}

func codec(name string) func(check.Args) {
	return func(a check.Args) {
		createTopic(a, 2)
		records := check.Records(400, a.Topic)
		produce(a, records, name)
		consume(a, records)
	}
}

// transactions: an exactly-once copy of the topic to "<topic>-out": InitTransactions, one
// transaction per batch of polled records with SendOffsetsToTransaction and CommitTransaction, after
// one aborted transaction (records and offsets). A read_committed consumer of the output sees
// every copy once and none of the aborted records; the group's offsets are the copied ones.
func transactions(a check.Args) {
	out := a.Topic + "-out"
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": a.Bootstrap})
	check.Must(err, "NewAdminClient")
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: a.Topic, NumPartitions: 3, ReplicationFactor: 1}, {Topic: out, NumPartitions: 3, ReplicationFactor: 1}})
	check.Must(err, "CreateTopics")
	for _, r := range res {
		if r.Error.Code() != kafka.ErrNoError {
			check.Fail("CreateTopics: %v", r.Error)
		}
	}
	records := check.Records(300, a.Topic)
	produce(a, records, "none")
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": a.Bootstrap, "transactional.id": a.Topic + "-tx", "go.delivery.reports": false})
	check.Must(err, "NewProducer (transactional)")
	defer p.Close()
	check.Must(p.InitTransactions(ctx), "InitTransactions")
	group := a.Topic + "-etl"
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": a.Bootstrap, "group.id": group, "auto.offset.reset": "earliest",
		"enable.auto.commit": false, "isolation.level": "read_committed"})
	check.Must(err, "NewConsumer")
	defer c.Close()
	meta, err := c.GetConsumerGroupMetadata()
	check.Must(err, "GetConsumerGroupMetadata")
	check.Must(p.BeginTransaction(), "BeginTransaction")
	for i := 0; i < 50; i++ {
		check.Must(p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &out, Partition: kafka.PartitionAny}, Value: []byte(fmt.Sprintf("aborted:%d", i))}, nil), "Produce")
	}
	check.Must(p.SendOffsetsToTransaction(ctx, []kafka.TopicPartition{{Topic: &a.Topic, Partition: 0, Offset: 999}}, meta), "SendOffsetsToTransaction")
	check.Must(p.AbortTransaction(ctx), "AbortTransaction")
	check.Must(c.SubscribeTopics([]string{a.Topic}, nil), "SubscribeTopics")
	copied := 0
	var batch []*kafka.Message
	deadline := time.Now().Add(50 * time.Second)
	for copied < len(records) && time.Now().Before(deadline) {
		if m, ok := c.Poll(100).(*kafka.Message); ok {
			batch = append(batch, m)
			if len(batch) < 100 {
				continue
			}
		}
		if len(batch) == 0 {
			continue
		}
		check.Must(p.BeginTransaction(), "BeginTransaction")
		for _, m := range batch {
			check.Must(p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &out, Partition: kafka.PartitionAny}, Key: m.Key, Value: append([]byte("out:"), m.Value...)}, nil), "Produce")
		}
		assigned, err := c.Assignment()
		check.Must(err, "Assignment")
		positions, err := c.Position(assigned)
		check.Must(err, "Position")
		meta, err := c.GetConsumerGroupMetadata()
		check.Must(err, "GetConsumerGroupMetadata")
		check.Must(p.SendOffsetsToTransaction(ctx, positions, meta), "SendOffsetsToTransaction")
		check.Must(p.CommitTransaction(ctx), "CommitTransaction")
		copied += len(batch)
		batch = nil
	}
	if copied != len(records) {
		check.Fail("copied %d of %d records", copied, len(records))
	}
	parts := []kafka.TopicPartition{{Topic: &a.Topic, Partition: 0}, {Topic: &a.Topic, Partition: 1}, {Topic: &a.Topic, Partition: 2}}
	committed, err := c.Committed(parts, 10000)
	check.Must(err, "Committed")
	total := int64(0)
	for _, tp := range committed {
		if tp.Offset >= 0 {
			total += int64(tp.Offset)
		}
	}
	if total != int64(len(records)) {
		check.Fail("the group's committed offsets add up to %d, want %d (the aborted offsets must not count)", total, len(records))
	}
	want := make([]check.Record, len(records))
	for i, r := range records {
		want[i] = check.Record{Key: r.Key, Value: "out:" + r.Value}
	}
	check2, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": a.Bootstrap, "group.id": a.Topic + "-check", "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
	check.Must(err, "NewConsumer")
	defer check2.Close()
	check.Must(check2.SubscribeTopics([]string{out}, nil), "SubscribeTopics")
	e := check.NewExpect(want)
	deadline = time.Now().Add(40 * time.Second)
	for !e.Done() && time.Now().Before(deadline) {
		if m, ok := check2.Poll(100).(*kafka.Message); ok {
			e.Add(m.Key, m.Value)
		}
	}
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		if m, ok := check2.Poll(100).(*kafka.Message); ok {
			e.Add(m.Key, m.Value)
		}
	}
	e.Verify()
}

func main() {
	check.Main(map[string]func(check.Args){
		"produce-events-flush": func(a check.Args) {
			createTopic(a, 3)
			records := check.Records(1000, a.Topic)
			produce(a, records, "none")
			consume(a, records)
		},
		"subscribe-poll": func(a check.Args) {
			// The topic is auto-created by the producer; the consumer group reads it from the start.
			records := check.Records(300, a.Topic)
			produce(a, records, "none")
			consume(a, records)
		},
		"transactions":       transactions,
		"compression-gzip":   codec("gzip"),
		"compression-snappy": codec("snappy"),
		"compression-lz4":    codec("lz4"),
		"compression-zstd":   codec("zstd"),
	})
}
