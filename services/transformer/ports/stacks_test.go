package ports_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orosync/orosync/services/transformer/ports"
)

func TestLongLivedGoroutinesReturnTheHandlersOutputsAndErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	boom := errors.New("boom")
	h := ports.OnLongLivedGoroutines(ctx, 2)(func(msg *message.Message) ([]*message.Message, error) {
		if string(msg.Payload) == "fail" {
			return nil, boom
		}
		return []*message.Message{message.NewMessage("out-"+msg.UUID, msg.Payload)}, nil
	})
	out, err := h(message.NewMessage("1", []byte("ok")))
	if err != nil || len(out) != 1 || out[0].UUID != "out-1" {
		t.Fatalf("got %v, %v; want out-1", out, err)
	}
	if _, err := h(message.NewMessage("2", []byte("fail"))); !errors.Is(err, boom) {
		t.Fatalf("got error %v, want %v", err, boom)
	}
	cancel() // after shutdown the handler still runs, on the caller's goroutine
	if out, err := h(message.NewMessage("3", []byte("ok"))); err != nil || len(out) != 1 {
		t.Fatalf("after shutdown got %v, %v", out, err)
	}
}

func TestLongLivedGoroutinesReraiseAPanicOnTheCallersGoroutine(t *testing.T) {
	h := ports.OnLongLivedGoroutines(t.Context(), 1)(func(*message.Message) ([]*message.Message, error) {
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
