package ports

import (
	"errors"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// RetryAfterAFailure is r's retries, set up only once the first attempt has failed: Watermill's Retry builds its
// backoff, options and closures for every message, though the handler almost never fails. The attempts stay 1 +
// r.MaxRetries; the first retry follows the failure without the initial interval. Outputs that were not stored
// (ErrNotStored) are not retried here: JetStream redelivers the input.
func RetryAfterAFailure(r middleware.Retry) message.HandlerMiddleware {
	r.MaxRetries--
	shouldRetry := r.ShouldRetry
	r.ShouldRetry = func(p middleware.RetryParams) bool {
		return !errors.Is(p.Err, ErrNotStored) && (shouldRetry == nil || shouldRetry(p))
	}
	return func(h message.HandlerFunc) message.HandlerFunc {
		retry := r.Middleware(h)
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err == nil || errors.Is(err, ErrNotStored) {
				return out, err
			}
			return retry(msg)
		}
	}
}
