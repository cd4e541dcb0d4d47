// twmb/franz-go (kgo) against Fjord's SASL listeners (each scenario on a broker of its own, see
// run.ts startSecureFjord): SCRAM-SHA-256 and -512 (franz-go's own pkg/sasl/scram) over SASL_SSL
// and SASL_PLAINTEXT, producing with ProduceSync and consuming back in a group; a wrong password.
// (The franz-go-kgo client of run.ts is franz-go's own test suite, over PLAINTEXT.)
package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"fjord.dev/conformance/internal/check"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

func mechanism(sha512 bool, password string) sasl.Mechanism {
	auth := scram.Auth{User: check.Env("FJORD_USER"), Pass: password}
	if sha512 {
		return auth.AsSha512Mechanism()
	}
	return auth.AsSha256Mechanism()
}

func client(useTLS bool, m sasl.Mechanism, opts ...kgo.Opt) *kgo.Client {
	all := []kgo.Opt{kgo.SeedBrokers(check.Listener(useTLS)), kgo.SASL(m), kgo.ClientID("conformance-franz-go")}
	if useTLS {
		all = append(all, kgo.DialTLSConfig(check.TLSConfig()))
	}
	cl, err := kgo.NewClient(append(all, opts...)...)
	check.Must(err, "kgo.NewClient")
	return cl
}

// roundTrip produces every record (auto-creating the topic) and consumes them back in a group.
func roundTrip(a check.Args, useTLS, sha512 bool, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m := mechanism(sha512, check.Env("FJORD_PASSWORD"))
	records := check.Records(n, a.Topic)
	p := client(useTLS, m, kgo.DefaultProduceTopic(a.Topic), kgo.AllowAutoTopicCreation())
	rs := make([]*kgo.Record, len(records))
	for i, r := range records {
		rs[i] = &kgo.Record{Key: []byte(r.Key), Value: []byte(r.Value)}
	}
	check.Must(p.ProduceSync(ctx, rs...).FirstErr(), "ProduceSync")
	p.Close()
	c := client(useTLS, m, kgo.ConsumeTopics(a.Topic), kgo.ConsumerGroup(a.Topic+"-g"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer c.Close()
	e := check.NewExpect(records)
	for !e.Done() && ctx.Err() == nil {
		fetches := c.PollFetches(ctx)
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				check.Fail("fetch %s/%d: %v", fe.Topic, fe.Partition, fe.Err)
			}
		}
		fetches.EachRecord(func(r *kgo.Record) { e.Add(r.Key, r.Value) })
	}
	e.Verify()
	check.Must(c.CommitUncommittedOffsets(ctx), "CommitUncommittedOffsets")
}

func secure(useTLS, sha512 bool) func(check.Args) {
	return func(a check.Args) { roundTrip(a, useTLS, sha512, 300) }
}

// wrongPassword: a request fails with SASL_AUTHENTICATION_FAILED; then the right password works.
func wrongPassword(a check.Args) {
	cl := client(true, mechanism(true, "not-the-password"), kgo.RequestRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	err := cl.Ping(ctx)
	cancel()
	cl.Close()
	if err == nil {
		check.Fail("Ping with a wrong password succeeded")
	}
	if !errors.Is(err, kerr.SaslAuthenticationFailed) && !strings.Contains(err.Error(), "SASL_AUTHENTICATION_FAILED") {
		check.Fail("want SASL_AUTHENTICATION_FAILED, got: %v", err)
	}
	roundTrip(a, true, true, 50)
}

func main() {
	check.Main(map[string]func(check.Args){
		"sasl-ssl-scram-sha-256":       secure(true, false),
		"sasl-ssl-scram-sha-512":       secure(true, true),
		"sasl-plaintext-scram-sha-256": secure(false, false),
		"sasl-plaintext-scram-sha-512": secure(false, true),
		"sasl-wrong-password":          wrongPassword,
	})
}
