package dlq_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/dlq"
	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/events"
)

var failedAt = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// deadLetter publishes dl to OROSYNC_DLQ and returns its sequence there.
func deadLetter(t *testing.T, js jetstream.JetStream, dl events.DeadLetter) uint64 {
	t.Helper()
	ack, err := js.PublishMsg(t.Context(), natsconn.DeadLetterMsg(dl, 0))
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

// stored dead-letters the message stored at seq of stream as stage, the way the stages do: every header kept.
func stored(t *testing.T, js jetstream.JetStream, stream string, seq uint64, stage, reason string) events.DeadLetter {
	t.Helper()
	st, err := js.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := st.GetMsg(t.Context(), seq)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := events.ParseRawSubject(orig.Subject)
	if err != nil {
		t.Fatal(err)
	}
	dl := events.DeadLetter{Stage: stage, Record: &ref, Rule: "email", Reason: reason, Stream: stream, Subject: orig.Subject,
		Sequence: seq, MsgID: orig.Header.Get(nats.MsgIdHdr), Headers: map[string]string{}, FailedAt: failedAt}
	for k, v := range orig.Header {
		dl.Headers[k] = v[0]
	}
	dl.SetPayload(orig.Data)
	return dl
}

func open(t *testing.T, js jetstream.JetStream) *dlq.Store {
	t.Helper()
	s, err := dlq.Open(t.Context(), js)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRedriveRepublishesTheOriginalBytesAndHeadersThenRemovesTheEntry(t *testing.T) {
	s := jstest.Start(t)
	ctx := t.Context()
	orig := nats.NewMsg("oro.raw.acme.contacts.7")
	// Spaces and HTML in the body, header names in mixed case: all of it must come back as it was.
	orig.Data = []byte("{ \"id\": \"7\",\n  \"note\": \"<b>Tom & Jerry</b>\" }")
	orig.Header.Set(nats.MsgIdHdr, "raw-7")
	orig.Header["ce-id"] = []string{"raw-7"}
	orig.Header["ce-type"] = []string{events.TypeRawRecord}
	orig.Header["X-Custom-Trace"] = []string{"00-abc-01"}
	ack, err := s.JS.PublishMsg(ctx, orig)
	if err != nil {
		t.Fatal(err)
	}
	seq := deadLetter(t, s.JS, stored(t, s.JS, events.StreamOroRaw, ack.Sequence, "transformer", "primaryEmail: not an email"))

	r, err := open(t, s.JS).Redrive(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	if r.Stream != events.StreamOroRaw || r.At == ack.Sequence {
		t.Fatalf("redriven to %s #%d, want a new message of ORO_RAW", r.Stream, r.At)
	}
	// Read as a consumer gets it: the message as published, nothing added.
	cons, err := s.JS.OrderedConsumer(ctx, events.StreamOroRaw, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: r.At})
	if err != nil {
		t.Fatal(err)
	}
	again, err := cons.Next(jetstream.FetchContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if again.Subject() != orig.Subject || string(again.Data()) != string(orig.Data) {
		t.Errorf("redriven %s %q, want the original %s %q", again.Subject(), again.Data(), orig.Subject, orig.Data)
	}
	want := nats.Header{}
	for k, v := range orig.Header {
		if k != nats.MsgIdHdr {
			want[k] = v
		}
	}
	if !reflect.DeepEqual(again.Headers(), want) {
		t.Errorf("headers %v, want the original's less Nats-Msg-Id %v", again.Headers(), want)
	}
	if _, err := open(t, s.JS).Get(ctx, seq); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Errorf("the dead letter is still there after its redrive (err %v)", err)
	}
}

func TestRedriveRefusesADeadLetterWithoutPayloadAndKeepsIt(t *testing.T) {
	s := jstest.Start(t)
	ref := events.RecordRef{Tenant: "acme", Type: "contacts", ID: "9"}
	dl := events.Oversize("poller", &ref, events.StreamOroRaw, "oro.raw.acme.contacts.9", []byte(`{}`), 9_000_000, 8_388_608,
		"Oro", failedAt)
	seq := deadLetter(t, s.JS, dl)
	store := open(t, s.JS)
	_, err := store.Redrive(t.Context(), seq)
	if !errors.Is(err, dlq.ErrNotRedrivable) {
		t.Fatalf("redrive of a max-size dead letter: %v, want ErrNotRedrivable", err)
	}
	if _, err := store.Get(t.Context(), seq); err != nil {
		t.Errorf("the refused dead letter is gone: %v", err)
	}
}

func TestRedriveKeepsTheEntryWhenNoStreamStoresTheMessage(t *testing.T) {
	s := jstest.Start(t)
	dl := events.DeadLetter{Stage: "writer", Record: &events.RecordRef{Tenant: "acme", Type: "contacts", ID: "3"},
		Reason: "boom", Subject: "nowhere.acme.3", FailedAt: failedAt}
	dl.SetPayload([]byte(`{"id":"3"}`))
	seq := deadLetter(t, s.JS, dl)
	store := open(t, s.JS)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := store.Redrive(ctx, seq); err == nil {
		t.Fatal("a redrive no stream acknowledged succeeded")
	}
	if _, err := store.Get(t.Context(), seq); err != nil {
		t.Errorf("the dead letter is gone though its republish failed: %v", err)
	}
}

func TestListAndPurgeSelectByStageTenantTypeAndReason(t *testing.T) {
	s := jstest.Start(t)
	seqs := map[string]uint64{}
	for _, d := range []struct{ name, stage, tenant, typ, reason string }{
		{"a", "transformer", "acme", "contacts", "primaryEmail: not an email"},
		{"b", "transformer", "acme", "accounts", "name: required"},
		{"c", "writer", "acme", "contacts", "database refused: not an email"},
		{"d", "transformer", "globex", "contacts", "primaryEmail: not an email"},
	} {
		dl := events.DeadLetter{Stage: d.stage, Record: &events.RecordRef{Tenant: d.tenant, Type: d.typ, ID: d.name},
			Reason: d.reason, Subject: "oro.raw." + d.tenant + "." + d.typ + "." + d.name, FailedAt: failedAt}
		seqs[d.name] = deadLetter(t, s.JS, dl)
	}
	if _, err := s.JS.Publish(t.Context(), "orosync.dlq.writer.acme.contacts.x", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	store := open(t, s.JS)
	cases := map[string]struct {
		f    dlq.Filter
		want []string
	}{
		"nothing":          {dlq.Filter{}, []string{"a", "b", "c", "d", "x"}},
		"stage":            {dlq.Filter{Stage: "transformer"}, []string{"a", "b", "d"}},
		"tenant":           {dlq.Filter{Tenant: "globex"}, []string{"d"}},
		"type":             {dlq.Filter{Type: "accounts"}, []string{"b"}},
		"reason substring": {dlq.Filter{Reason: "not an email"}, []string{"a", "c", "d"}},
		"all of them":      {dlq.Filter{Stage: "transformer", Tenant: "acme", Type: "contacts", Reason: "email"}, []string{"a"}},
	}
	names := func(es []dlq.Entry) []string {
		var out []string
		for _, e := range es {
			_, _, _, id := e.Tokens()
			out = append(out, id)
		}
		return out
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := store.List(t.Context(), c.f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names(got), c.want) {
				t.Errorf("listed %v, want %v", names(got), c.want)
			}
		})
	}
	t.Run("an entry that is not a dead letter says so", func(t *testing.T) {
		got, _ := store.List(t.Context(), dlq.Filter{Type: "contacts", Stage: "writer"})
		if len(got) != 2 || got[0].Err != "" || got[1].Err == "" {
			t.Errorf("entries %+v, want c readable and x not", got)
		}
	})
	t.Run("a filter that is not a subject token is refused", func(t *testing.T) {
		if _, err := store.List(t.Context(), dlq.Filter{Tenant: "ac.me"}); err == nil {
			t.Error("tenant ac.me was accepted")
		}
	})
	t.Run("purge removes what the filter selects only", func(t *testing.T) {
		sel, err := store.List(t.Context(), dlq.Filter{Reason: "not an email", Stage: "transformer"})
		if err != nil {
			t.Fatal(err)
		}
		var at []uint64
		for _, e := range sel {
			at = append(at, e.Seq)
		}
		if n, err := store.Purge(t.Context(), at); err != nil || n != 2 {
			t.Fatalf("purged %d (%v), want 2", n, err)
		}
		left, err := store.List(t.Context(), dlq.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names(left), []string{"b", "c", "x"}) {
			t.Errorf("left %v, want b, c, x", names(left))
		}
	})
}
