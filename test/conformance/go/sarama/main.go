// IBM/sarama (current release, default protocol version): SyncProducer with WaitForAll, a random
// partitioner and Return.Successes; a consumer that lists a topic's partitions and consumes each
// from OffsetNewest; a consumer group; every codec; a transactional producer (Producer.Transaction.ID)
// with AddOffsetsToTxn, commit and abort, read back by a ReadCommitted consumer. Security (each on
// a broker of its own, see run.ts startSecureFjord): SCRAM-SHA-256/512 over SASL_SSL and
// SASL_PLAINTEXT (SCRAM client: scram.go), a wrong password.
package main

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"fjord.dev/conformance/internal/check"
)

func config() *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = "conformance-sarama"
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Partitioner = sarama.NewRandomPartitioner
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

// produce sends every record with a SyncProducer and checks the partition/offset it got back.
func produce(a check.Args, c *sarama.Config, records []check.Record) map[int32]int {
	p, err := sarama.NewSyncProducer(a.Brokers(), c)
	check.Must(err, "NewSyncProducer")
	defer p.Close()
	perPartition := map[int32]int{}
	last := map[int32]int64{}
	for _, r := range records {
		part, off, err := p.SendMessage(&sarama.ProducerMessage{Topic: a.Topic, Key: sarama.StringEncoder(r.Key), Value: sarama.StringEncoder(r.Value)})
		check.Must(err, "SendMessage")
		if prev, ok := last[part]; ok && off <= prev {
			check.Fail("offset %d on partition %d not after %d", off, part, prev)
		}
		last[part] = off
		perPartition[part]++
	}
	return perPartition
}

// consumeAll reads every partition from the oldest offset until every record was seen.
func consumeAll(a check.Args, records []check.Record, start int64) {
	consumeAllWith(a, config(), records, start)
}

func consumeAllWith(a check.Args, c *sarama.Config, records []check.Record, start int64) {
	consumer, err := sarama.NewConsumer(a.Brokers(), c)
	check.Must(err, "NewConsumer")
	defer consumer.Close()
	parts, err := consumer.Partitions(a.Topic)
	check.Must(err, "Partitions")
	e := check.NewExpect(records)
	for _, part := range parts {
		pc, err := consumer.ConsumePartition(a.Topic, part, start)
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

type groupHandler struct {
	e      *check.Expect
	mu     sync.Mutex
	claims map[int32]bool
}

func (h *groupHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ps := range s.Claims() {
		for _, p := range ps {
			h.claims[p] = true
		}
	}
	return nil
}
func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
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
		c.Producer.Flush.Messages = 50 // several records per batch, so the codec has something to do
		c.Producer.Flush.Frequency = 5 * time.Millisecond
		records := check.Records(400, a.Topic)
		ap, err := sarama.NewAsyncProducer(a.Brokers(), c)
		check.Must(err, "NewAsyncProducer")
		for _, r := range records {
			ap.Input() <- &sarama.ProducerMessage{Topic: a.Topic, Key: sarama.StringEncoder(r.Key), Value: sarama.StringEncoder(r.Value)}
		}
		for range records {
			select {
			case <-ap.Successes():
			case err := <-ap.Errors():
				check.Fail("produce with %s: %v", cc, err)
			}
		}
		check.Must(ap.Close(), "AsyncProducer.Close")
		consumeAll(a, records, sarama.OffsetOldest)
	}
}

// transactions: BeginTxn, SendMessage, AddOffsetsToTxn, CommitTxn; one transaction aborted; then
// another committed. A ReadCommitted consumer reads every committed record once and no aborted
// one; the group's offset is the last committed transaction's.
func transactions(a check.Args) {
	createTopic(a, 3)
	c := config()
	c.Producer.Idempotent = true
	c.Producer.Transaction.ID = a.Topic + "-tx"
	c.Producer.Partitioner = sarama.NewRoundRobinPartitioner
	c.Net.MaxOpenRequests = 1
	p, err := sarama.NewSyncProducer(a.Brokers(), c)
	check.Must(err, "NewSyncProducer (transactional)")
	defer p.Close()
	group := a.Topic + "-offsets"
	run := func(records []check.Record, offset int64, commit bool) {
		check.Must(p.BeginTxn(), "BeginTxn")
		for _, r := range records {
			_, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: a.Topic, Key: sarama.StringEncoder(r.Key), Value: sarama.StringEncoder(r.Value)})
			check.Must(err, "SendMessage in a transaction")
		}
		check.Must(p.AddOffsetsToTxn(map[string][]*sarama.PartitionOffsetMetadata{a.Topic: {{Partition: 0, Offset: offset, LeaderEpoch: -1}}}, group), "AddOffsetsToTxn")
		if commit {
			check.Must(p.CommitTxn(), "CommitTxn")
		} else {
			check.Must(p.AbortTxn(), "AbortTxn")
		}
	}
	committed := check.Records(90, a.Topic+"-c1")
	later := check.Records(9, a.Topic+"-c2") // round robin: three per partition, after the aborted ones
	run(committed, 42, true)
	run(check.Records(45, a.Topic+"-aborted"), 999, false)
	run(later, 43, true)

	cc := config()
	cc.Consumer.IsolationLevel = sarama.ReadCommitted
	consumer, err := sarama.NewConsumer(a.Brokers(), cc)
	check.Must(err, "NewConsumer")
	defer consumer.Close()
	e := check.NewExpect(append(append([]check.Record{}, committed...), later...))
	for part := int32(0); part < 3; part++ {
		pc, err := consumer.ConsumePartition(a.Topic, part, sarama.OffsetOldest)
		check.Must(err, "ConsumePartition")
		go func() {
			for m := range pc.Messages() {
				e.Add(m.Key, m.Value)
			}
		}()
	}
	e.Wait(40 * time.Second)
	time.Sleep(500 * time.Millisecond)
	e.Verify()

	client, err := sarama.NewClient(a.Brokers(), config())
	check.Must(err, "NewClient")
	defer client.Close()
	om, err := sarama.NewOffsetManagerFromClient(group, client)
	check.Must(err, "NewOffsetManager")
	pom, err := om.ManagePartition(a.Topic, 0)
	check.Must(err, "ManagePartition")
	if off, _ := pom.NextOffset(); off != 43 {
		check.Fail("group offset on partition 0 is %d, want 43 (the aborted 999 must not count)", off)
	}
	pom.AsyncClose()
}

// scramConfig authenticates with SCRAM as FJORD_USER, over TLS or not.
func scramConfig(mechanism sarama.SASLMechanism, useTLS bool, password string) *sarama.Config {
	c := config()
	c.Net.SASL.Enable = true
	c.Net.SASL.Handshake = true
	c.Net.SASL.Mechanism = mechanism
	c.Net.SASL.User = check.Env("FJORD_USER")
	c.Net.SASL.Password = password
	c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient {
		if mechanism == sarama.SASLTypeSCRAMSHA512 {
			return &scramClient{newHash: sha512.New}
		}
		return &scramClient{newHash: sha256.New}
	}
	c.Net.TLS.Enable = useTLS
	if useTLS {
		c.Net.TLS.Config = check.TLSConfig()
	}
	return c
}

// secure produces (auto-creating the topic) and consumes back over a SASL listener.
func secure(mechanism sarama.SASLMechanism, useTLS bool) func(check.Args) {
	return func(a check.Args) {
		a.Bootstrap = check.Listener(useTLS)
		c := scramConfig(mechanism, useTLS, check.Env("FJORD_PASSWORD"))
		records := check.Records(300, a.Topic)
		produce(a, c, records)
		consumeAllWith(a, c, records, sarama.OffsetOldest)
	}
}

// wrongPassword: NewClient reports SASL_AUTHENTICATION_FAILED; then the right password works.
func wrongPassword(a check.Args) {
	c := scramConfig(sarama.SASLTypeSCRAMSHA512, true, "not-the-password")
	c.Metadata.Retry.Max = 1
	started := time.Now()
	client, err := sarama.NewClient([]string{check.Listener(true)}, c)
	if err == nil {
		client.Close()
		check.Fail("NewClient with a wrong password succeeded")
	}
	if !errors.Is(err, sarama.ErrSASLAuthenticationFailed) && !strings.Contains(err.Error(), "SASL Authentication failed") {
		check.Fail("want an authentication failure, got: %v", err)
	}
	if time.Since(started) > 20*time.Second {
		check.Fail("the failure took %v", time.Since(started))
	}
	secure(sarama.SASLTypeSCRAMSHA512, true)(a)
}

func main() {
	check.Main(map[string]func(check.Args){
		"sasl-ssl-scram-sha-256":       secure(sarama.SASLTypeSCRAMSHA256, true),
		"sasl-ssl-scram-sha-512":       secure(sarama.SASLTypeSCRAMSHA512, true),
		"sasl-plaintext-scram-sha-256": secure(sarama.SASLTypeSCRAMSHA256, false),
		"sasl-wrong-password":          wrongPassword,
		"sync-producer-waitforall": func(a check.Args) {
			createTopic(a, 3)
			records := check.Records(600, a.Topic)
			per := produce(a, config(), records)
			if len(per) != 3 {
				check.Fail("random partitioner used %d of 3 partitions", len(per))
			}
			consumeAll(a, records, sarama.OffsetOldest)
		},
		"partition-consumer-newest": func(a check.Args) {
			createTopic(a, 3)
			// Records from before the consumers start must not show up.
			produce(a, config(), check.Records(30, a.Topic+"-before"))
			consumer, err := sarama.NewConsumer(a.Brokers(), config())
			check.Must(err, "NewConsumer")
			defer consumer.Close()
			parts, err := consumer.Partitions(a.Topic)
			check.Must(err, "Partitions")
			if len(parts) != 3 {
				check.Fail("Partitions listed %d, want 3", len(parts))
			}
			records := check.Records(300, a.Topic)
			e := check.NewExpect(records)
			for _, part := range parts {
				pc, err := consumer.ConsumePartition(a.Topic, part, sarama.OffsetNewest)
				check.Must(err, "ConsumePartition(OffsetNewest)")
				go func() {
					for m := range pc.Messages() {
						e.Add(m.Key, m.Value)
					}
				}()
			}
			produce(a, config(), records)
			e.Wait(40 * time.Second)
			e.Verify()
		},
		"consumer-group": func(a check.Args) {
			createTopic(a, 4)
			records := check.Records(400, a.Topic)
			produce(a, config(), records)
			e := check.NewExpect(records)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			handlers := []*groupHandler{}
			for i := 0; i < 2; i++ {
				c := config()
				c.Consumer.Offsets.Initial = sarama.OffsetOldest
				c.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
				g, err := sarama.NewConsumerGroup(a.Brokers(), a.Topic+"-group", c)
				check.Must(err, "NewConsumerGroup")
				h := &groupHandler{e: e, claims: map[int32]bool{}}
				handlers = append(handlers, h)
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer g.Close()
					for ctx.Err() == nil {
						if err := g.Consume(ctx, []string{a.Topic}, h); err != nil && ctx.Err() == nil {
							check.Fail("Consume: %v", err)
						}
					}
				}()
			}
			e.Wait(50 * time.Second)
			cancel()
			wg.Wait()
			e.Verify()
			// The committed offsets cover every record.
			client, err := sarama.NewClient(a.Brokers(), config())
			check.Must(err, "NewClient")
			defer client.Close()
			om, err := sarama.NewOffsetManagerFromClient(a.Topic+"-group", client)
			check.Must(err, "NewOffsetManager")
			total := int64(0)
			for p := int32(0); p < 4; p++ {
				pom, err := om.ManagePartition(a.Topic, p)
				check.Must(err, "ManagePartition")
				off, _ := pom.NextOffset()
				total += off
				pom.AsyncClose()
			}
			if total != int64(len(records)) {
				check.Fail("committed offsets add up to %d, want %d", total, len(records))
			}
		},
		"transactions":       transactions,
		"compression-gzip":   codec(sarama.CompressionGZIP),
		"compression-snappy": codec(sarama.CompressionSnappy),
		"compression-lz4":    codec(sarama.CompressionLZ4),
		"compression-zstd":   codec(sarama.CompressionZSTD),
	})
}
