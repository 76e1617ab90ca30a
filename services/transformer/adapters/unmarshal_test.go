package adapters

import (
	"context"
	"testing"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
)

func TestConsumedMessage(t *testing.T) {
	s := jstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	subj, err := events.RawSubject("acme", "contacts", "5")
	if err != nil {
		t.Fatal(err)
	}
	out := nats.NewMsg(subj)
	out.Data = []byte(`{}`)
	out.Header.Set("ce-id", "raw-5")
	out.Header.Set(nats.MsgIdHdr, "raw-5")
	out.Header.Add("x-repeated", "a")
	out.Header.Add("x-repeated", "b")
	ack, err := s.JS.PublishMsg(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.JS.OrderedConsumer(ctx, events.StreamOroRaw, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := c.Next(jetstream.FetchContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	m, err := unmarshaler{}.Unmarshal(in)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("takes its id from Nats-Msg-Id", func(t *testing.T) {
		if m.UUID != "raw-5" {
			t.Errorf("UUID %q, want the Nats-Msg-Id when there is no %s", m.UUID, wmnats.WatermillUUIDHdr)
		}
	})
	want := map[string]string{"ce-id": "raw-5", "x-repeated": "a,b", SubjectKey: subj, SequenceKey: "1", ReplyKey: in.Reply()}
	t.Run("carries the headers, subject, sequence, reply, nothing else", func(t *testing.T) {
		if ack.Sequence != 1 || len(m.Metadata) != len(want) {
			t.Errorf("metadata %v (sequence %d), want %v", m.Metadata, ack.Sequence, want)
		}
	})
	t.Run("joins repeated headers", func(t *testing.T) {
		for k, v := range want {
			if m.Metadata.Get(k) != v {
				t.Errorf("metadata %s = %q, want %q", k, m.Metadata.Get(k), v)
			}
		}
	})
}
