// segmentio/kafka-go 0.4: DialLeader + WriteMessages, Writer with LeastBytes, an async Writer with
// BatchSize/BatchTimeout, Reader with a GroupID, Conn.ReadBatch, and every codec.
package main

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"fjord.dev/conformance/internal/check"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

func createTopic(a check.Args, partitions int) {
	conn, err := kafka.Dial("tcp", a.First())
	check.Must(err, "Dial")
	defer conn.Close()
	controller, err := conn.Controller()
	check.Must(err, "Controller")
	cc, err := kafka.Dial("tcp", net.JoinHostPort(controller.Host, strconv.Itoa(controller.Port)))
	check.Must(err, "Dial controller")
	defer cc.Close()
	check.Must(cc.CreateTopics(kafka.TopicConfig{Topic: a.Topic, NumPartitions: partitions, ReplicationFactor: 1}), "CreateTopics")
}

func messages(records []check.Record) []kafka.Message {
	out := make([]kafka.Message, len(records))
	for i, r := range records {
		out[i] = kafka.Message{Key: []byte(r.Key), Value: []byte(r.Value)}
	}
	return out
}

// readAll reads every partition with a plain (group-less) Reader from the first offset.
func readAll(a check.Args, records []check.Record, partitions int) {
	e := check.NewExpect(records)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for p := 0; p < partitions; p++ {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: a.Brokers(), Topic: a.Topic, Partition: p, MaxWait: 200 * time.Millisecond})
		check.Must(r.SetOffset(kafka.FirstOffset), "SetOffset")
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for !e.Done() {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					return
				}
				e.Add(m.Key, m.Value)
			}
		}()
	}
	e.Wait(40 * time.Second)
	cancel()
	wg.Wait()
	e.Verify()
}

func writer(a check.Args) *kafka.Writer {
	return &kafka.Writer{Addr: kafka.TCP(a.Brokers()...), Topic: a.Topic, Balancer: &kafka.LeastBytes{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 10 * time.Millisecond}
}

func codec(c compress.Compression) func(check.Args) {
	return func(a check.Args) {
		createTopic(a, 2)
		w := writer(a)
		w.Compression = c
		w.BatchSize = 100
		records := check.Records(400, a.Topic)
		check.Must(w.WriteMessages(context.Background(), messages(records)...), "WriteMessages "+c.String())
		check.Must(w.Close(), "Writer.Close")
		readAll(a, records, 2)
	}
}

func main() {
	check.Main(map[string]func(check.Args){
		"dial-leader-write": func(a check.Args) {
			createTopic(a, 1)
			conn, err := kafka.DialLeader(context.Background(), "tcp", a.First(), a.Topic, 0)
			check.Must(err, "DialLeader")
			check.Must(conn.SetWriteDeadline(time.Now().Add(20*time.Second)), "SetWriteDeadline")
			records := check.Records(500, a.Topic)
			for i := 0; i < len(records); i += 100 {
				_, err := conn.WriteMessages(messages(records[i : i+100])...)
				check.Must(err, "Conn.WriteMessages")
			}
			check.Must(conn.Close(), "Conn.Close")
			readAll(a, records, 1)
		},
		"writer-leastbytes": func(a check.Args) {
			createTopic(a, 3)
			w := writer(a)
			records := check.Records(600, a.Topic)
			check.Must(w.WriteMessages(context.Background(), messages(records)...), "Writer.WriteMessages")
			check.Must(w.Close(), "Writer.Close")
			readAll(a, records, 3)
		},
		"async-writer-batch": func(a check.Args) {
			createTopic(a, 3)
			var mu sync.Mutex
			var werr error
			done := 0
			w := writer(a)
			w.Async = true
			w.BatchSize = 50
			w.BatchTimeout = 20 * time.Millisecond
			w.Completion = func(msgs []kafka.Message, err error) {
				mu.Lock()
				defer mu.Unlock()
				done += len(msgs)
				if err != nil {
					werr = err
				}
			}
			records := check.Records(1000, a.Topic)
			for i := 0; i < len(records); i += 10 {
				check.Must(w.WriteMessages(context.Background(), messages(records[i:i+10])...), "async WriteMessages")
			}
			check.Must(w.Close(), "Writer.Close")
			mu.Lock()
			if werr != nil || done != len(records) {
				check.Fail("async completions: %d of %d, error %v", done, len(records), werr)
			}
			mu.Unlock()
			readAll(a, records, 3)
		},
		"reader-group": func(a check.Args) {
			createTopic(a, 3)
			w := writer(a)
			records := check.Records(300, a.Topic)
			check.Must(w.WriteMessages(context.Background(), messages(records)...), "Writer.WriteMessages")
			check.Must(w.Close(), "Writer.Close")
			e := check.NewExpect(records)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for i := 0; i < 2; i++ {
				r := kafka.NewReader(kafka.ReaderConfig{Brokers: a.Brokers(), GroupID: a.Topic + "-group", Topic: a.Topic,
					StartOffset: kafka.FirstOffset, MaxWait: 200 * time.Millisecond, HeartbeatInterval: 500 * time.Millisecond, CommitInterval: 0})
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer r.Close()
					for {
						m, err := r.ReadMessage(ctx) // commits synchronously (CommitInterval 0)
						if err != nil {
							if !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
								check.Fail("Reader(GroupID).ReadMessage: %v", err)
							}
							return
						}
						e.Add(m.Key, m.Value)
					}
				}()
			}
			e.Wait(50 * time.Second)
			cancel()
			wg.Wait()
			e.Verify()
		},
		"read-batch": func(a check.Args) {
			createTopic(a, 1)
			records := check.Records(500, a.Topic)
			w := writer(a)
			check.Must(w.WriteMessages(context.Background(), messages(records)...), "Writer.WriteMessages")
			check.Must(w.Close(), "Writer.Close")
			conn, err := kafka.DialLeader(context.Background(), "tcp", a.First(), a.Topic, 0)
			check.Must(err, "DialLeader")
			defer conn.Close()
			_, err = conn.Seek(0, kafka.SeekAbsolute)
			check.Must(err, "Seek")
			e := check.NewExpect(records)
			deadline := time.Now().Add(30 * time.Second)
			for !e.Done() && time.Now().Before(deadline) {
				check.Must(conn.SetReadDeadline(time.Now().Add(10*time.Second)), "SetReadDeadline")
				batch := conn.ReadBatch(1, 64*1024)
				n := 0
				for {
					m, err := batch.ReadMessage()
					if err != nil {
						break
					}
					n++
					e.Add(m.Key, m.Value)
				}
				if err := batch.Close(); err != nil && !errors.Is(err, io.EOF) {
					check.Fail("Batch.Close: %v", err)
				}
				if n == 0 {
					check.Fail("ReadBatch returned no message after %d records", e.Count())
				}
			}
			e.Verify()
		},
		"compression-gzip":   codec(kafka.Gzip),
		"compression-snappy": codec(kafka.Snappy),
		"compression-lz4":    codec(kafka.Lz4),
		"compression-zstd":   codec(kafka.Zstd),
	})
}
