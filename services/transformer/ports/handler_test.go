package ports_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/ports"
)

func TestDeadLetterOnErrorParksAFailedMessageButNotOutputsThatWereNotStored(t *testing.T) {
	fail := errors.New("transient")
	h := ports.DeadLetterOnError("transformer", time.Now)(func(msg *message.Message) ([]*message.Message, error) {
		if string(msg.Payload) == "not stored" {
			return nil, fmt.Errorf("publishing: %w", ports.ErrNotStored)
		}
		return nil, fail
	})
	out, err := h(message.NewMessage("1", []byte("not stored")))
	if !errors.Is(err, ports.ErrNotStored) || len(out) != 0 {
		t.Fatalf("not stored: got %v, %v; want the error for the router to redeliver", out, err)
	}
	out, err = h(message.NewMessage("2", []byte("failing")))
	if err != nil || len(out) != 1 || out[0].Metadata.Get(events.HeaderType) != events.TypeDeadLetter {
		t.Fatalf("failing: got %v, %v; want one dead letter", out, err)
	}
}
