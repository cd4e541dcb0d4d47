// Shopify/sarama 1.22 configured for Kafka 0.10.2 (V0_10_2_0): it sends no ApiVersions and uses
// Produce v2 / Fetch v3 with MessageSet v1, JoinGroup v1 for its consumer group.
package main

import (
	"context"
	"sync"
	"time"

	"fjord.dev/conformance/internal/check"
	"github.com/Shopify/sarama"
)

func config() *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = "conformance-sarama-old"
	c.Version = sarama.V0_10_2_0
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Return.Successes = true
	c.Consumer.Return.Errors = true
	c.Metadata.Retry.Backoff = 100 * time.Millisecond
	return c
}

func createTopic(a check.Args, partitions int32) {
	admin, err := sarama.NewClusterAdmin(a.Brokers(), config())
	check.Must(err, "NewClusterAdmin")
	defer admin.Close()
	check.Must(admin.CreateTopic(a.Topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false), "CreateTopic")
}

func produce(a check.Args, c *sarama.Config, records []check.Record) {
	ap, err := sarama.NewAsyncProducer(a.Brokers(), c)
	check.Must(err, "NewAsyncProducer")
	for _, r := range records {
		ap.Input() <- &sarama.ProducerMessage{Topic: a.Topic, Key: sarama.StringEncoder(r.Key), Value: sarama.StringEncoder(r.Value)}
	}
	for range records {
		select {
		case <-ap.Successes():
		case err := <-ap.Errors():
			check.Fail("produce: %v", err)
		}
	}
	check.Must(ap.Close(), "AsyncProducer.Close")
}

func consumeAll(a check.Args, records []check.Record) {
	consumer, err := sarama.NewConsumer(a.Brokers(), config())
	check.Must(err, "NewConsumer")
	defer consumer.Close()
	parts, err := consumer.Partitions(a.Topic)
	check.Must(err, "Partitions")
	e := check.NewExpect(records)
	for _, part := range parts {
		pc, err := consumer.ConsumePartition(a.Topic, part, sarama.OffsetOldest)
		check.Must(err, "ConsumePartition")
		go func() {
			for m := range pc.Messages() {
				e.Add(m.Key, m.Value)
			}
		}()
		go func() {
			for err := range pc.Errors() {
				check.Fail("partition consumer: %v", err)
			}
		}()
	}
	e.Wait(40 * time.Second)
	e.Verify()
}

type handler struct{ e *check.Expect }

func (h handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.e.Add(m.Key, m.Value)
		s.MarkMessage(m, "")
	}
	return nil
}

func codec(cc sarama.CompressionCodec) func(check.Args) {
	return func(a check.Args) {
		createTopic(a, 2)
		c := config()
		c.Producer.Compression = cc
		c.Producer.Flush.Messages = 50
		c.Producer.Flush.Frequency = 5 * time.Millisecond
		records := check.Records(400, a.Topic)
		produce(a, c, records)
		consumeAll(a, records)
	}
}

func main() {
	check.Main(map[string]func(check.Args){
		"sync-producer": func(a check.Args) {
			createTopic(a, 3)
			p, err := sarama.NewSyncProducer(a.Brokers(), config())
			check.Must(err, "NewSyncProducer")
			records := check.Records(300, a.Topic)
			for _, r := range records {
				_, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: a.Topic, Key: sarama.StringEncoder(r.Key), Value: sarama.StringEncoder(r.Value)})
				check.Must(err, "SendMessage")
			}
			check.Must(p.Close(), "SyncProducer.Close")
			consumeAll(a, records)
		},
		"partition-consumer": func(a check.Args) {
			createTopic(a, 3)
			records := check.Records(600, a.Topic)
			produce(a, config(), records)
			consumeAll(a, records)
		},
		"consumer-group": func(a check.Args) {
			createTopic(a, 4)
			records := check.Records(400, a.Topic)
			produce(a, config(), records)
			e := check.NewExpect(records)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for i := 0; i < 2; i++ {
				c := config()
				c.Consumer.Offsets.Initial = sarama.OffsetOldest
				g, err := sarama.NewConsumerGroup(a.Brokers(), a.Topic+"-group", c)
				check.Must(err, "NewConsumerGroup")
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer g.Close()
					for ctx.Err() == nil {
						if err := g.Consume(ctx, []string{a.Topic}, handler{e}); err != nil && ctx.Err() == nil {
							check.Fail("Consume: %v", err)
						}
					}
				}()
			}
			e.Wait(50 * time.Second)
			cancel()
			wg.Wait()
			e.Verify()
		},
		"compression-gzip":   codec(sarama.CompressionGZIP),
		"compression-snappy": codec(sarama.CompressionSnappy),
		"compression-lz4":    codec(sarama.CompressionLZ4),
	})
}
