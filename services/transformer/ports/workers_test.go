package ports_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

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

func TestWorkersPublishTheOutputsAndReturnOnlyOnceTheyAreStored(t *testing.T) {
	pub := newRecordingPublisher()
	h := ports.OnWorkers(t.Context(), 2, pub)(func(msg *message.Message) ([]*message.Message, error) {
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

func TestWorkersReturnAFailureToStoreAsErrNotStored(t *testing.T) {
	boom := errors.New("no stream")
	for name, pub := range map[string]*recordingPublisher{
		"publish": {publishErr: boom},
		"store":   {published: make(chan []*message.Message, 1), waiting: make(chan struct{}, 1), storeErr: boom},
	} {
		if pub.release == nil {
			pub.release = make(chan struct{})
			close(pub.release)
		}
		h := ports.OnWorkers(t.Context(), 1, pub)(func(*message.Message) ([]*message.Message, error) {
			return []*message.Message{message.NewMessage("out", nil)}, nil
		})
		if _, err := h(message.NewMessage("1", nil)); !errors.Is(err, ports.ErrNotStored) || !errors.Is(err, boom) {
			t.Errorf("%s failure: error %v, want ErrNotStored wrapping %v", name, err, boom)
		}
	}
}

func TestWorkersReturnTheHandlersErrorsAndPublishNothing(t *testing.T) {
	pub := newRecordingPublisher()
	boom := errors.New("boom")
	h := ports.OnWorkers(t.Context(), 1, pub)(func(msg *message.Message) ([]*message.Message, error) {
		if string(msg.Payload) == "fail" {
			return nil, boom
		}
		return nil, nil
	})
	if _, err := h(message.NewMessage("1", []byte("fail"))); !errors.Is(err, boom) || errors.Is(err, ports.ErrNotStored) {
		t.Fatalf("got error %v, want %v", err, boom)
	}
	if out, err := h(message.NewMessage("2", []byte("ignored"))); err != nil || len(out) != 0 {
		t.Fatalf("got %v, %v for a message without outputs", out, err)
	}
	if len(pub.published) != 0 {
		t.Fatalf("published %v", <-pub.published)
	}
}

func TestWorkersStillPublishAndWaitOnTheCallersGoroutineAfterShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pub := newRecordingPublisher()
	close(pub.release)
	h := ports.OnWorkers(ctx, 1, pub)(func(*message.Message) ([]*message.Message, error) {
		return []*message.Message{message.NewMessage("out", nil)}, nil
	})
	if out, err := h(message.NewMessage("1", nil)); err != nil || len(out) != 0 || len(pub.published) != 1 ||
		len(pub.waiting) != 1 {
		t.Fatalf("after shutdown got %v, %v; published %d, waited %d", out, err, len(pub.published), len(pub.waiting))
	}
}

func TestWorkersReraiseAPanicOnTheCallersGoroutine(t *testing.T) {
	h := ports.OnWorkers(t.Context(), 1, newRecordingPublisher())(func(*message.Message) ([]*message.Message, error) {
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
