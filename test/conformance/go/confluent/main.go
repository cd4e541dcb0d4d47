// confluentinc/confluent-kafka-go/v2 (cgo, bundled librdkafka): Produce with delivery reports read
// from Events() and Flush; a consumer with SubscribeTopics and Poll; every codec.
package main

import (
	"context"
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
		"compression-gzip":   codec("gzip"),
		"compression-snappy": codec("snappy"),
		"compression-lz4":    codec("lz4"),
		"compression-zstd":   codec("zstd"),
	})
}
