package ports

import (
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// RetryAfterAFailure is r's retries, set up only once the first attempt has failed: Watermill's Retry builds its
// backoff, options and closures for every message, ~2% of the CPU per event through JetStream
// (BenchmarkTransformerThroughJetStream profile), though the handler almost never fails. The attempts stay 1 +
// r.MaxRetries; the first retry follows the failure without the initial interval.
func RetryAfterAFailure(r middleware.Retry) message.HandlerMiddleware {
	r.MaxRetries--
	return func(h message.HandlerFunc) message.HandlerFunc {
		retry := r.Middleware(h)
		return func(msg *message.Message) ([]*message.Message, error) {
			if out, err := h(msg); err == nil {
				return out, nil
			}
			return retry(msg)
		}
	}
}
