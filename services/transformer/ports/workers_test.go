package ports_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/adapters"
	"github.com/orosync/orosync/services/transformer/ports"
)

// recordingPublisher keeps what is published; each publish is stored when its release channel is closed (or
// fails with storeErr), and reports on waiting that its stored func was called.
type recordingPublisher struct {
	published  chan []*message.Message
	waiting    chan struct{}
	release    chan struct{}
	publishErr error
	storeErr   error
}

func newRecordingPublisher() *recordingPublisher {
	return &recordingPublisher{published: make(chan []*message.Message, 10), waiting: make(chan struct{}, 10),
		release: make(chan struct{})}
}

func (p *recordingPublisher) PublishAsync(msgs ...*message.Message) (func() error, error) {
	if p.publishErr != nil {
		return nil, p.publishErr
	}
	p.published <- msgs
	return func() error {
		p.waiting <- struct{}{}
		<-p.release
		return p.storeErr
	}, nil
}

type handled struct {
	out []*message.Message
	err error
}

func handleAsync(h message.HandlerFunc, msg *message.Message) <-chan handled {
	done := make(chan handled, 1)
	go func() {
		out, err := h(msg)
		done <- handled{out, err}
	}()
	return done
}

func TestWorkersReturnOnlyOnceTheOutputsAreStored(t *testing.T) {
	pub := newRecordingPublisher()
	h := ports.OnWorkers(t.Context(), 2, pub, ports.Store{})(func(msg *message.Message) ([]*message.Message, error) {
		return []*message.Message{message.NewMessage("out-"+msg.UUID, msg.Payload)}, nil
	})
	done := handleAsync(h, message.NewMessage("1", []byte("ok")))
	if got := <-pub.published; len(got) != 1 || got[0].UUID != "out-1" {
		t.Fatalf("published %v, want out-1", got)
	}
	<-pub.waiting
	select {
	case r := <-done:
		t.Fatalf("returned %v before the outputs were stored", r)
	default:
	}
	close(pub.release)
	if r := <-done; r.err != nil || len(r.out) != 0 {
		t.Fatalf("got %v, %v; want no messages for the router to publish, no error", r.out, r.err)
	}
}

// flakyPublisher fails its first failures publishes (at publish or at store, by turns) with err, then stores.
type flakyPublisher struct {
	failures  int
	err       error
	published [][]*message.Message
}

func (p *flakyPublisher) PublishAsync(msgs ...*message.Message) (func() error, error) {
	p.published = append(p.published, slices.Clone(msgs))
	n := len(p.published)
	if n <= p.failures && n%2 == 1 {
		return nil, p.err
	}
	return func() error {
		if n <= p.failures {
			return p.err
		}
		return nil
	}, nil
}

func TestWorkersHoldTheInputWhileTheBrokerRefusesItsOutputs(t *testing.T) {
	pub := &flakyPublisher{failures: 5, err: errors.New("nats: no response from stream")}
	holds := 0
	h := ports.OnWorkers(t.Context(), 1, pub, ports.Store{Hold: func(*message.Message) { holds++ }, Backoff: time.Millisecond})(
		func(*message.Message) ([]*message.Message, error) {
			return []*message.Message{message.NewMessage("out", nil)}, nil
		})
	if out, err := h(message.NewMessage("1", nil)); err != nil || len(out) != 0 {
		t.Fatalf("got %v, %v; want the outputs stored after the failures", out, err)
	}
	if len(pub.published) != 6 || holds != 5 {
		t.Errorf("published %d times, held the input %d times; want 6 and 5", len(pub.published), holds)
	}
}

func TestWorkersGiveUpStoringOnlyWhenTheInputIsLetGo(t *testing.T) {
	pub := &flakyPublisher{failures: 1 << 30, err: errors.New("nats: no response from stream")}
	in := message.NewMessage("1", nil)
	ctx, cancel := context.WithCancel(t.Context())
	in.SetContext(ctx)
	h := ports.OnWorkers(t.Context(), 1, pub, ports.Store{Backoff: time.Millisecond, Hold: func(*message.Message) {
		if len(pub.published) == 3 {
			cancel() // the subscriber closes: shutting down
		}
	}})(func(*message.Message) ([]*message.Message, error) {
		return []*message.Message{message.NewMessage("out", nil)}, nil
	})
	if _, err := h(in); !errors.Is(err, ports.ErrNotStored) || !errors.Is(err, pub.err) {
		t.Fatalf("error %v, want ErrNotStored wrapping %v for the input to be redelivered", err, pub.err)
	}
}

func TestWorkersReplaceAnOutputTooBigForItsStreamWithItsDeadLetter(t *testing.T) {
	change := message.NewMessage("chg", []byte(`{"big":"..."}`))
	change.Metadata.Set(adapters.SubjectKey, "mercato.changes.acme.person.contacts.1")
	pub := &flakyPublisher{failures: 1, err: &adapters.TooBigError{Subject: "mercato.changes.acme.person.contacts.1", Size: 2 << 20, Limit: 1 << 20}}
	var replaced *message.Message
	h := ports.OnWorkers(t.Context(), 1, pub, ports.Store{Oversize: func(in, out *message.Message, big *adapters.TooBigError) *message.Message {
		if out != change || big.Size != 2<<20 {
			t.Errorf("oversize of %v (%+v)", out.UUID, big)
		}
		replaced = message.NewMessage("dl", nil)
		replaced.Metadata.Set(events.HeaderType, events.TypeDeadLetter)
		return replaced
	}})(func(*message.Message) ([]*message.Message, error) { return []*message.Message{change}, nil })
	if _, err := h(message.NewMessage("1", nil)); err != nil {
		t.Fatal(err)
	}
	if len(pub.published) != 2 || pub.published[1][0] != replaced {
		t.Fatalf("published %v, want the change, then its dead letter in its place", pub.published)
	}
}

func TestWorkersPassOnWhatTheHandlerReturns(t *testing.T) {
	pub := newRecordingPublisher()
	boom := errors.New("boom")
	h := ports.OnWorkers(t.Context(), 1, pub, ports.Store{})(func(msg *message.Message) ([]*message.Message, error) {
		if string(msg.Payload) == "fail" {
			return nil, boom
		}
		return nil, nil
	})
	t.Run("its error", func(t *testing.T) {
		if _, err := h(message.NewMessage("1", []byte("fail"))); !errors.Is(err, boom) || errors.Is(err, ports.ErrNotStored) {
			t.Fatalf("got error %v, want %v", err, boom)
		}
	})
	t.Run("no outputs for a message without any", func(t *testing.T) {
		if out, err := h(message.NewMessage("2", []byte("ignored"))); err != nil || len(out) != 0 {
			t.Fatalf("got %v, %v for a message without outputs", out, err)
		}
	})
	t.Run("nothing published for either", func(t *testing.T) {
		if len(pub.published) != 0 {
			t.Fatalf("published %v", <-pub.published)
		}
	})
}

func TestWorkersAfterShutdownStorePublishesOnTheCallersGoroutine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pub := newRecordingPublisher()
	close(pub.release)
	h := ports.OnWorkers(ctx, 1, pub, ports.Store{})(func(*message.Message) ([]*message.Message, error) {
		return []*message.Message{message.NewMessage("out", nil)}, nil
	})
	if out, err := h(message.NewMessage("1", nil)); err != nil || len(out) != 0 || len(pub.published) != 1 ||
		len(pub.waiting) != 1 {
		t.Fatalf("after shutdown got %v, %v; published %d, waited %d", out, err, len(pub.published), len(pub.waiting))
	}
}

func TestWorkersReraiseAPanicOnTheCallersGoroutine(t *testing.T) {
	h := ports.OnWorkers(t.Context(), 1, newRecordingPublisher(), ports.Store{})(func(*message.Message) ([]*message.Message, error) {
		panic("bad record")
	})
	defer func() {
		if p := recover(); p != "bad record" {
			t.Fatalf("recovered %v, want the handler's panic", p)
		}
	}()
	_, _ = h(message.NewMessage("1", nil))
	t.Fatal("no panic")
}
