package natsconn_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/events"
)

func TestAMessageAConsumerGivesUpOnIsDeadLetteredNotDropped(t *testing.T) {
	s := jstest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	w, err := natsconn.WatchMaxDeliveries(ctx, s.NC, s.JS, events.StreamOroRaw, "transformer", "transformer", quiet)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.Run(ctx) }()
	msg := nats.NewMsg("oro.raw.acme.contacts.5")
	msg.Data = []byte(`{"resource":{"type":"contacts","id":"5"}}`)
	msg.Header.Set(nats.MsgIdHdr, "raw-5")
	msg.Header["ce-id"] = []string{"raw-5"}
	if _, err := s.JS.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	// A transformer that fails on the message every time: each delivery comes back unacknowledged.
	cons, err := s.JS.Consumer(ctx, events.StreamOroRaw, "transformer")
	if err != nil {
		t.Fatal(err)
	}
	maxDeliver := cons.CachedInfo().Config.MaxDeliver
	for range maxDeliver {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		_ = m.Nak()
	}
	if _, err := cons.Next(jetstream.FetchMaxWait(200 * time.Millisecond)); err == nil {
		t.Fatalf("delivered more than max_deliver (%d) times", maxDeliver)
	}

	dlq, err := s.JS.OrderedConsumer(ctx, events.StreamDeadLetter, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := dlq.Next(jetstream.FetchContext(ctx))
	if err != nil {
		t.Fatalf("no dead letter: %v", err)
	}
	var d events.DeadLetter
	if err := json.Unmarshal(m.Data(), &d); err != nil {
		t.Fatal(err)
	}
	if m.Subject() != "orosync.dlq.transformer.acme.contacts.5" || d.Rule != natsconn.RuleMaxDeliver || d.Sequence != 1 ||
		d.Subject != "oro.raw.acme.contacts.5" || d.MsgID != "raw-5" || string(d.Payload) != string(msg.Data) {
		t.Errorf("dead letter on %s: %+v", m.Subject(), d)
	}
	// The message's headers as published, without those a read from the stream adds (Nats-Stream, ...).
	if want := map[string]string{nats.MsgIdHdr: "raw-5", "ce-id": "raw-5"}; !reflect.DeepEqual(d.Headers, want) {
		t.Errorf("dead letter headers %v, want %v", d.Headers, want)
	}
}
