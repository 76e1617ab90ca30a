package ports_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/orosync/orosync/services/transformer/ports"
)

func TestRetryAfterAFailureMakesOnePlusMaxRetriesAttempts(t *testing.T) {
	for _, failures := range []int{0, 1, 3, 4, 10} {
		attempts := 0
		h := ports.RetryAfterAFailure(middleware.Retry{MaxRetries: 3})(func(*message.Message) ([]*message.Message, error) {
			attempts++
			if attempts <= failures {
				return nil, errors.New("transient")
			}
			return []*message.Message{message.NewMessage("out", nil)}, nil
		})
		out, err := h(message.NewMessage("in", nil))
		wantAttempts, wantOK := min(failures+1, 4), failures < 4
		if attempts != wantAttempts || (err == nil) != wantOK || (err == nil && len(out) != 1) {
			t.Errorf("%d failures: %d attempts, %v, %v; want %d attempts, success %v", failures, attempts, out, err,
				wantAttempts, wantOK)
		}
	}
}

func TestRetryAfterAFailureLeavesOutputsNotStoredToRedelivery(t *testing.T) {
	for _, first := range []error{ports.ErrNotStored, errors.New("transient")} {
		attempts := 0
		h := ports.RetryAfterAFailure(middleware.Retry{MaxRetries: 3})(func(*message.Message) ([]*message.Message, error) {
			attempts++
			if attempts == 1 {
				return nil, fmt.Errorf("attempt 1: %w", first)
			}
			return nil, fmt.Errorf("attempt %d: %w", attempts, ports.ErrNotStored)
		})
		_, err := h(message.NewMessage("in", nil))
		wantAttempts := 2 // a handler failure is retried once more, where the outputs are not stored
		if errors.Is(first, ports.ErrNotStored) {
			wantAttempts = 1
		}
		if attempts != wantAttempts || !errors.Is(err, ports.ErrNotStored) {
			t.Errorf("first failure %v: %d attempts, error %v; want %d attempts and ErrNotStored", first, attempts, err,
				wantAttempts)
		}
	}
}
