package service_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts"
	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/service"
)

func runTransformer(t *testing.T, ctx context.Context, cfg service.Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestAChangeTooBigForMercatoChanges(t *testing.T) {
	s := jstest.Start(t, jstest.MaxPayload(8<<20)) // deploy/nats's: ORO_RAW takes the record, MERCATO_CHANGES 1 MiB
	ctx := t.Context()                             // every wait below is for a message or a consumer state
	runTransformer(t, ctx, service.Config{NatsURL: s.URL})
	// Oro's fax is kept as a custom field, and custom fields have no size limit.
	publishRaw(t, s.JS, "1", `{"firstName":"Big","fax":"`+strings.Repeat("5", 1_200_000)+`"}`)
	publishRaw(t, s.JS, "2", `{"firstName":"Ada"}`)

	t.Run("does not hold back the rest", func(t *testing.T) {
		changes, err := s.JS.OrderedConsumer(ctx, events.StreamMercatoChanges, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		var c events.Change
		if err := json.Unmarshal(next(t, ctx, changes).Data(), &c); err != nil || c.Source.ID != "2" {
			t.Fatalf("change %+v (%v), want contact 2's", c, err)
		}
	})
	t.Run("is dead-lettered with its size and the limit", func(t *testing.T) {
		dlq, err := s.JS.OrderedConsumer(ctx, events.StreamDeadLetter, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		m := next(t, ctx, dlq)
		var dl events.DeadLetter
		if err := json.Unmarshal(m.Data(), &dl); err != nil {
			t.Fatal(err)
		}
		if m.Subject() != "orosync.dlq.transformer.acme.contacts.1" || dl.Rule != events.RuleMaxSize || dl.Size <= 1_200_000 ||
			dl.Limit != 1<<20 || dl.Stream != events.StreamMercatoChanges || dl.Payload != nil ||
			!strings.Contains(dl.Reason, "person.customFields.oro_fax") || !strings.Contains(dl.Reason, "ORO_RAW #1") {
			t.Errorf("dead letter on %s: rule %s, size %d, limit %d, stream %s, payload of %d bytes, reason %s",
				m.Subject(), dl.Rule, dl.Size, dl.Limit, dl.Stream, len(dl.Payload), dl.Reason)
		}
	})
	t.Run("is acknowledged without a redelivery", func(t *testing.T) {
		cons, err := s.JS.Consumer(ctx, events.StreamOroRaw, "transformer")
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, func() bool {
			info, err := cons.Info(ctx)
			return err == nil && info.AckFloor.Stream == 2 && info.NumAckPending == 0
		})
		if info, err := cons.Info(ctx); err != nil || info.NumRedelivered != 0 || info.Delivered.Consumer != 2 {
			t.Errorf("consumer %+v (%v): want two deliveries, none redelivered", info, err)
		}
	})
}

// countingHandler counts log records whose message contains a text.
type countingHandler struct {
	slog.Handler
	text string
	n    *atomic.Int64
}

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.text) {
		h.n.Add(1)
	}
	return nil
}

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h countingHandler) WithGroup(string) slog.Handler            { return h }

func TestChangesWaitForMercatoChangesToComeBackWithoutUsingUpDeliveries(t *testing.T) {
	s := jstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	notStored := &atomic.Int64{}
	log := slog.New(countingHandler{Handler: slog.DiscardHandler, text: "not stored", n: notStored})
	runTransformer(t, ctx, service.Config{NatsURL: s.URL, Logger: log})
	publishRaw(t, s.JS, "1", `{"firstName":"Before"}`) // the transformer is running: its publisher knows the limits
	cons, _ := s.JS.Consumer(ctx, events.StreamOroRaw, "transformer")
	waitFor(t, ctx, func() bool { info, err := cons.Info(ctx); return err == nil && info.AckFloor.Stream == 1 })

	if err := s.JS.DeleteStream(ctx, events.StreamMercatoChanges); err != nil { // unavailable
		t.Fatal(err)
	}
	const contacts = 20
	for i := range contacts {
		publishRaw(t, s.JS, string(rune('a'+i)), `{"firstName":"During"}`)
	}
	// Every one of them is held and tried again (the log says so at the first, second, fourth... try).
	waitFor(t, ctx, func() bool { return notStored.Load() >= 2*contacts })
	if err := contracts.Ensure(ctx, s.JS, contracts.Options{}); err != nil { // back
		t.Fatal(err)
	}
	st, err := s.JS.Stream(ctx, events.StreamMercatoChanges)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() bool { info, err := st.Info(ctx); return err == nil && info.State.Msgs == contacts })
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumRedelivered != 0 || info.Delivered.Consumer != contacts+1 {
		t.Errorf("%d messages redelivered, %d deliveries for %d messages: the outage used up deliveries",
			info.NumRedelivered, info.Delivered.Consumer, contacts+1)
	}
}
