package oro

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"time"
)

// decodeError marks a 2xx body that did not decode (truncated or malformed): retried, never returned in part.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return "decode response: " + e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

// fetchDoc GETs u and decodes the JSON:API document (see fetch).
func (c *Client) fetchDoc(ctx context.Context, u *url.URL, hdr http.Header) (*response, *Document, error) {
	var doc *Document
	res, err := c.fetch(ctx, u, hdr, func(body []byte) (err error) {
		doc, err = ParseDocument(body)
		if err != nil {
			if d, ok := isolateTooDeep(body); ok { // one record nested too deep must not fail its page
				doc, err = d, nil
			}
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return res, doc, nil
}

// fetch GETs u and hands the body to decode, retrying transient failures with exponential backoff and jitter
// (5xx, timeouts, broken connections, truncated or malformed bodies, i.e. decode errors) and pausing the
// connection's budget for a 429/503's Retry-After. It returns the last error after Backoff.Attempts tries.
func (c *Client) fetch(ctx context.Context, u *url.URL, hdr http.Header, decode func([]byte) error) (*response, error) {
	var last error
	for attempt := 1; ; attempt++ {
		res, err := c.send(ctx, http.MethodGet, u, nil, hdr)
		if err == nil {
			perr := decode(res.body)
			if perr == nil {
				c.budget.noteSuccess()
				return res, nil
			}
			err = &decodeError{perr}
		}
		if ctx.Err() != nil {
			return nil, err
		}
		wait, pause, retry := c.retryDelay(err, attempt)
		if !retry {
			return nil, err
		}
		last = err
		if attempt >= c.backoff.Attempts {
			if attempt == 1 {
				return nil, err
			}
			return nil, fmt.Errorf("giving up after %d attempts: %w", attempt, last)
		}
		if pause {
			// Budget.Wait holds every caller of the connection until the pause ends.
			c.budget.Pause(wait, fmt.Sprintf("Oro answered %s; pausing %s (Retry-After)", statusOf(err), wait))
			continue
		}
		c.budget.noteRetry(c.secrets.scrubErr(err).Error(), wait)
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%w (while backing off after: %w)", err, last)
		}
	}
}

func statusOf(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return fmt.Sprintf("%d %s", ae.Status, http.StatusText(ae.Status))
	}
	return "an error"
}

// retryDelay says whether err is transient, how long to wait before attempt+1 and whether the wait is a pause of
// the whole connection (429/503).
func (c *Client) retryDelay(err error, attempt int) (time.Duration, bool, bool) {
	backoff := c.backoff.delay(attempt, rand.Float64())
	var ae *APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusServiceUnavailable:
			wait := ae.RetryAfter
			if wait <= 0 {
				wait = backoff
			}
			return min(wait, c.backoff.MaxRetryAfter), true, true
		case ae.Status >= 500:
			return backoff, false, true
		}
		return 0, false, false
	}
	var de *decodeError
	if errors.As(err, &de) {
		return backoff, false, true
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errTransport) {
		return backoff, false, true
	}
	return 0, false, false
}

// errTransport marks failures of the HTTP exchange itself (connection reset, body cut short).
var errTransport = errors.New("transport")

type transportError struct{ err error }

func (e *transportError) Error() string        { return e.err.Error() }
func (e *transportError) Unwrap() []error      { return []error{e.err, errTransport} }
func (e *transportError) Is(target error) bool { return target == errTransport }
