package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/dlq"
	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/service"
)

func publishRaw(t *testing.T, js jetstream.JetStream, id, attrs string) {
	t.Helper()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	res := json.RawMessage(`{"type":"contacts","id":"` + id + `","attributes":` + attrs + `}`)
	h, _ := events.PayloadHash(res)
	r := events.RawRecord{RecordRef: events.RecordRef{Tenant: "acme", Type: "contacts", ID: id}, UpdatedAt: &at, PayloadHash: h,
		ObservedAt: at, Via: "poll", Resource: res}
	body, _ := json.Marshal(r)
	subj, _ := events.RawSubject("acme", "contacts", id)
	msg := nats.NewMsg(subj)
	msg.Data = body
	events.Envelope{ID: r.MsgID(), Source: events.Source("acme", "poller"), Type: events.TypeRawRecord, Time: at}.Apply(msg.Header)
	if _, err := js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

func next(t *testing.T, ctx context.Context, c jetstream.Consumer) jetstream.Msg {
	t.Helper()
	m, err := c.Next(jetstream.FetchContext(ctx))
	if err != nil {
		t.Fatalf("waiting for a message: %v", err)
	}
	return m
}

func TestABadContactInAPage(t *testing.T) {
	s := jstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, service.Config{NatsURL: s.URL}) }()

	publishRaw(t, s.JS, "1", `{"firstName":"Zoë","lastName":"Ørsted","primaryEmail":"ZOE@example.com"}`)
	publishRaw(t, s.JS, "2", `{"firstName":"Bad","primaryEmail":"not-an-email"}`)
	publishRaw(t, s.JS, "3", `{"firstName":"王芳"}`)

	t.Run("does not hold back the rest", func(t *testing.T) {
		changes, err := s.JS.OrderedConsumer(ctx, events.StreamMercatoChanges, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for range 2 {
			m := next(t, ctx, changes)
			var c events.Change
			if err := json.Unmarshal(m.Data(), &c); err != nil {
				t.Fatal(err)
			}
			if m.Headers().Get(events.HeaderType) != events.TypeChange || m.Headers().Get(events.HeaderMsgID) != c.MsgID() ||
				m.Headers().Get(events.HeaderMappingVersion) != c.MappingVersion {
				t.Errorf("change headers %v", m.Headers())
			}
			got = append(got, c.Source.ID+":"+c.Person.DisplayName)
		}
		slices.Sort(got) // order across records is not kept (several handlers map in parallel)
		if got[0] != "1:Zoë Ørsted" || got[1] != "3:王芳" {
			t.Errorf("changes %v", got)
		}
	})
	t.Run("goes to the dead-letter stream naming its field and rule", func(t *testing.T) {
		dlq, err := s.JS.OrderedConsumer(ctx, events.StreamDeadLetter, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		m := next(t, ctx, dlq)
		var dl events.DeadLetter
		if err := json.Unmarshal(m.Data(), &dl); err != nil {
			t.Fatal(err)
		}
		if m.Subject() != "orosync.dlq.transformer.acme.contacts.2" || dl.Field != "attributes.primaryEmail" || dl.Rule != "email" ||
			dl.Record == nil || dl.Record.ID != "2" || dl.Subject != "oro.raw.acme.contacts.2" || len(dl.Payload) == 0 ||
			dl.Headers[events.HeaderType] != events.TypeRawRecord || dl.Sequence != 2 {
			t.Errorf("dead letter on %s: %+v", m.Subject(), dl)
		}
	})
	t.Run("leaves nothing pending", func(t *testing.T) {
		// Every raw message was acknowledged: nothing is left pending for the transformer.
		cons, _ := s.JS.Consumer(ctx, events.StreamOroRaw, "transformer")
		waitFor(t, ctx, func() bool {
			info, err := cons.Info(ctx)
			return err == nil && info.NumPending == 0 && info.NumAckPending == 0
		})
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
}

// waitFor polls a condition that has no event to await (consumer ack state lives on the server).
func waitFor(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not reached before timeout")
		case <-tick.C:
		}
	}
}

func TestRedrivenMessageThatFailsAgainIsDeadLetteredAgain(t *testing.T) {
	s := jstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, service.Config{NatsURL: s.URL}) }()
	publishRaw(t, s.JS, "5", `{"firstName":"Bad","primaryEmail":"still bad"}`)
	dead, err := s.JS.OrderedConsumer(ctx, events.StreamDeadLetter, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	first := next(t, ctx, dead)
	var dl events.DeadLetter
	if err := json.Unmarshal(first.Data(), &dl); err != nil {
		t.Fatal(err)
	}
	// Redrive as orosync dlq redrive does: original payload and headers, without Nats-Msg-Id.
	msg, err := dlq.Message(dlq.Entry{Letter: dl})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.JS.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	second := next(t, ctx, dead)
	if second.Headers().Get(events.HeaderMsgID) == first.Headers().Get(events.HeaderMsgID) {
		t.Error("the second failure reused the first one's message id and would be de-duplicated away")
	}
	cancel()
	<-done
}
