package adapters_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/adapters"
)

func change(t *testing.T, id string) *message.Message {
	t.Helper()
	subj, err := events.ChangeSubject("acme", "person", "contacts", id)
	if err != nil {
		t.Fatal(err)
	}
	m := message.NewMessage("ce-"+id, []byte(`{"id":"`+id+`"}`))
	m.Metadata.Set("ce-id", "ce-"+id)
	m.Metadata.Set("ce-type", "test")
	m.Metadata.Set(nats.MsgIdHdr, "ce-"+id)
	m.Metadata.Set(adapters.SubjectKey, subj)
	return m
}

func stored(t *testing.T, s *jstest.Server, subject string) *jetstream.RawStreamMsg {
	t.Helper()
	st, err := s.JS.Stream(context.Background(), events.StreamMercatoChanges)
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetLastMsgForSubject(context.Background(), subject)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	return m
}

// The writer and every other reader see the changes as watermill-nats' JetStream publisher (NATSMarshaler,
// TrackMsgId) wrote them, and a change it published is a duplicate of the same change published here.
func TestPublisherStoresWhatWatermillNatsJetStreamPublisherStores(t *testing.T) {
	s := jstest.Start(t)
	wm, err := wmnats.NewPublisherWithNatsConn(s.NC, wmnats.PublisherPublishConfig{
		Marshaler: &wmnats.NATSMarshaler{}, SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream: wmnats.JetStreamConfig{TrackMsgId: true},
	}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := adapters.NewPublisher(t.Context(), s.NC, 16)
	if err != nil {
		t.Fatal(err)
	}
	byWatermill := change(t, "1")
	subject1 := byWatermill.Metadata.Get(adapters.SubjectKey)
	delete(byWatermill.Metadata, adapters.SubjectKey)
	if err := wm.Publish(subject1, byWatermill); err != nil {
		t.Fatal(err)
	}
	again, ours := change(t, "1"), change(t, "2")
	for range 2 { // a redelivered input publishes the same change again
		if err := pub.Publish("", again, ours); err != nil {
			t.Fatal(err)
		}
	}
	info, err := s.JS.Stream(context.Background(), events.StreamMercatoChanges)
	if err != nil {
		t.Fatal(err)
	}
	st, err := info.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.State.Msgs != 2 {
		t.Fatalf("stream holds %d messages, want 2 (one per Nats-Msg-Id)", st.State.Msgs)
	}
	m1, m2 := stored(t, s, subject1), stored(t, s, ours.Metadata.Get(adapters.SubjectKey))
	if string(m2.Data) != `{"id":"2"}` {
		t.Errorf("stored %s", m2.Data)
	}
	// The direct get adds the stream's own Nats-Stream, Nats-Sequence, Nats-Subject and Nats-Time-Stamp.
	written := func(h nats.Header) nats.Header {
		h = maps.Clone(h)
		for _, k := range []string{"Nats-Stream", "Nats-Sequence", "Nats-Subject", "Nats-Time-Stamp"} {
			delete(h, k)
		}
		return h
	}
	want, got := written(m1.Header), written(m2.Header)
	for k, v := range want {
		if v[0] == "ce-1" {
			want[k] = []string{"ce-2"}
		}
	}
	if !maps.EqualFunc(want, got, func(a, b []string) bool { return len(a) == 1 && len(b) == 1 && a[0] == b[0] }) {
		t.Errorf("headers %v, want %v as watermill-nats writes them", got, want)
	}
	if _, ok := m2.Header[adapters.SubjectKey]; ok {
		t.Errorf("the subject metadata went out as a header: %v", m2.Header)
	}
}

func TestPublisherReturnsJetStreamsRejection(t *testing.T) {
	s := jstest.Start(t)
	pub, err := adapters.NewPublisher(t.Context(), s.NC, 16)
	if err != nil {
		t.Fatal(err)
	}
	ok, rejected := change(t, "7"), change(t, "8")
	rejected.Metadata.Set(jetstream.ExpectedStreamHeader, "NOT_THIS_STREAM")
	wait, err := pub.PublishAsync(ok, rejected)
	if err != nil {
		t.Fatal(err)
	}
	var apiErr *jetstream.APIError
	if err := wait(); !errors.As(err, &apiErr) {
		t.Fatalf("stored: %v, want JetStream's API error", err)
	}
	stored(t, s, ok.Metadata.Get(adapters.SubjectKey))
}

func TestPublisherReportsAMessageWithoutSubjectOrWithoutStream(t *testing.T) {
	s := jstest.Start(t)
	pub, err := adapters.NewPublisher(t.Context(), s.NC, 16)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("", message.NewMessage("ce-9", nil)); err == nil {
		t.Error("published a message without a subject")
	}
	m := message.NewMessage("ce-10", []byte(`{}`))
	m.Metadata.Set(adapters.SubjectKey, "nowhere.stored")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- pub.Publish("", m) }()
	select {
	case err := <-done:
		if !errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, nats.ErrNoResponders) {
			t.Fatalf("publish error %v, want no stream", err)
		}
	case <-ctx.Done():
		t.Fatal("no answer for a subject no stream stores")
	}
}
