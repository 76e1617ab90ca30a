package adapters_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"

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
	m.Metadata.Set("ce-type", "test")
	m.Metadata.Set(adapters.SubjectKey, subj)
	return m
}

func TestPublisherStoresEachChangeOnceWithItsMetadataAsHeadersAndItsIDAsMsgID(t *testing.T) {
	s := jstest.Start(t)
	pub := adapters.NewPublisher(s.NC)
	m := change(t, "7")
	for range 2 { // a redelivered input publishes the same change again
		if err := pub.Publish("", m); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.JS.Stream(context.Background(), events.StreamMercatoChanges)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("stream holds %d messages, want 1", info.State.Msgs)
	}
	got, err := st.GetMsg(context.Background(), info.State.LastSeq)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ce-type": "test", nats.MsgIdHdr: "ce-7", "_watermill_message_uuid": "ce-7"}
	if _, ok := got.Header[adapters.SubjectKey]; ok {
		t.Errorf("the subject metadata went out as a header: %v", got.Header)
	}
	for k, v := range want {
		if got.Header.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, got.Header.Get(k), v)
		}
	}
	if wantSubj := m.Metadata.Get(adapters.SubjectKey); got.Subject != wantSubj || string(got.Data) != `{"id":"7"}` {
		t.Errorf("stored %s %s, want %s %s", got.Subject, got.Data, wantSubj, m.Payload)
	}
}

func TestPublisherReturnsJetStreamsRejection(t *testing.T) {
	s := jstest.Start(t)
	pub := adapters.NewPublisher(s.NC)
	m := change(t, "8")
	m.Metadata.Set(nats.ExpectedStreamHdr, "NOT_THIS_STREAM")
	err := pub.Publish("", m)
	var apiErr *nats.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("publish error %v, want JetStream's API error", err)
	}
}

func TestPublisherReportsASubjectNoStreamStores(t *testing.T) {
	s := jstest.Start(t)
	pub := adapters.NewPublisher(s.NC)
	m := message.NewMessage("ce-9", []byte(`{}`))
	m.Metadata.Set(adapters.SubjectKey, "nowhere.stored")
	if err := pub.Publish("", m); !errors.Is(err, nats.ErrNoStreamResponse) {
		t.Fatalf("publish error %v, want %v", err, nats.ErrNoStreamResponse)
	}
}
