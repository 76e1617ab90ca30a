package oro

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Priority orders the callers sharing one Budget: delta polls go before reconciliation scans.
type Priority int

const (
	// PriorityDelta is the poller's (the zero value): waiting delta polls are always served first.
	PriorityDelta Priority = iota
	// PriorityScan is the reconciler's: it gets a request slot only while no delta poll is waiting.
	PriorityScan
	numPriorities
)

func (p Priority) String() string {
	switch p {
	case PriorityDelta:
		return "delta"
	case PriorityScan:
		return "scan"
	}
	return fmt.Sprintf("priority(%d)", int(p))
}

// BudgetState is what a Budget is doing right now, for `orosync status` and metrics.
type BudgetState struct {
	// PerMinute is the configured budget (0: unlimited).
	PerMinute float64 `json:"perMinute"`
	// Waiting counts callers waiting for a request slot, per priority name.
	Waiting map[string]int `json:"waiting"`
	// PausedUntil is set while the whole connection backs off (Retry-After, persistent errors).
	PausedUntil time.Time `json:"pausedUntil,omitzero"`
	// Reason says why it is paused or backing off ("429 Retry-After 30s", "503 ...", "5xx ...").
	Reason string `json:"reason,omitempty"`
	// Requests, Throttled (429/503 answers) and Retries are totals since start.
	Requests  int64 `json:"requests"`
	Throttled int64 `json:"throttled"`
	Retries   int64 `json:"retries"`
	// LastError is the latest retried failure (secrets masked).
	LastError string `json:"lastError,omitempty"`
}

// Budget is the request budget of one Oro connection (x/time/rate), shared by every Client built with it in the
// process: the poller and the reconciler of a tenant draw from the same one. Callers of lower priority wait while
// a caller of higher priority waits; a Retry-After pauses every caller.
type Budget struct {
	lim     *rate.Limiter
	perMin  float64
	metrics *Metrics
	name    string

	scan sync.Mutex // one scan-priority reservation at a time, so a delta poll never queues behind many of them

	// window holds, for the last n requests, when their responses arrived (zero: still in flight). A request is
	// sent only when the oldest of them completed a full span ago, so a server counting requests in any sliding
	// span never sees more than n, whatever the network delays (rate.Limiter alone spaces sends, and a late first
	// arrival would put n+1 into one server-side window).
	span       time.Duration
	windowMu   sync.Mutex
	window     []time.Time
	windowNext int
	completed  chan struct{} // closed and replaced when a response arrives

	mu          sync.Mutex
	shared      Shared
	waiting     [numPriorities]int
	deltaIdle   chan struct{} // closed when no delta-priority caller waits
	pausedUntil time.Time
	reason      string
	requests    int64
	throttled   int64
	retries     int64
	lastError   string
}

// NewBudget allows perMinute requests a minute (≤ 0: unlimited), in bursts of at most burst (≥ 1). name labels
// the metrics (the connection's tenant); m may be nil.
func NewBudget(name string, perMinute float64, burst int, m *Metrics) *Budget {
	return NewBudgetPer(name, perMinute, time.Minute, burst, m)
}

// CatchUpBurst is the burst for a budget of perMinute that a caller pacing one request after another should use:
// one second of requests (at least 1). With a burst of 1, every slot a slow page misses is lost for good, so a
// poller whose page cycle is near the budget's spacing uses far less than the budget; with this burst the slots it
// missed are used by the requests that follow. The server still never sees more than the budget in any sliding
// window: acquire holds every request until the one the window's length before it has completed a window ago.
func CatchUpBurst(perMinute float64) int {
	return max(1, int(perMinute/60))
}

// NewCatchUpBudget is NewBudget with CatchUpBurst whose bucket starts empty: a cold start sends at the budget's
// spacing instead of a burst, so the burst only ever carries slots missed (or left idle) since the start.
func NewCatchUpBudget(name string, perMinute float64, m *Metrics) *Budget {
	burst := CatchUpBurst(perMinute)
	b := NewBudget(name, perMinute, burst, m)
	if perMinute > 0 {
		b.lim.ReserveN(time.Now(), burst-1) // keep one token: the first request goes at once
	}
	return b
}

// NewBudgetPer allows n requests in any sliding window of the given length (tests run servers on fast clocks).
func NewBudgetPer(name string, n float64, window time.Duration, burst int, m *Metrics) *Budget {
	perMinute := n * float64(time.Minute) / float64(window)
	limit := rate.Inf
	if perMinute > 0 {
		limit = rate.Limit(perMinute / 60)
	}
	if burst < 1 {
		burst = 1
	}
	idle := make(chan struct{})
	close(idle)
	b := &Budget{lim: rate.NewLimiter(limit, burst), perMin: perMinute, metrics: m, name: name, deltaIdle: idle,
		completed: make(chan struct{}), span: window}
	if n >= 1 && n <= 1_000_000 {
		b.window = make([]time.Time, int(n))
		for i := range b.window {
			b.window[i] = time.Now().Add(-window)
		}
	}
	if m != nil {
		m.limit.WithLabelValues(name).Set(perMinute)
	}
	return b
}

// acquire waits until the sliding minute has room and claims a slot; it returns the slot's index for done.
func (b *Budget) acquire(ctx context.Context) (int, error) {
	if b.window == nil {
		return -1, nil
	}
	for {
		b.windowMu.Lock()
		i := b.windowNext
		oldest := b.window[i]
		completed := b.completed
		if !oldest.IsZero() {
			if wait := time.Until(oldest.Add(b.span)); wait > 0 {
				b.windowMu.Unlock()
				if err := sleep(ctx, wait); err != nil {
					return -1, err
				}
				continue
			}
			b.window[i] = time.Time{}
			b.windowNext = (i + 1) % len(b.window)
			b.windowMu.Unlock()
			return i, nil
		}
		b.windowMu.Unlock()
		select { // the oldest request is still in flight: wait for a response
		case <-completed:
		case <-ctx.Done():
			return -1, ctx.Err()
		}
	}
}

// done records that the response of slot i arrived.
func (b *Budget) done(i int) {
	if i < 0 {
		return
	}
	b.windowMu.Lock()
	defer b.windowMu.Unlock()
	b.window[i] = time.Now()
	close(b.completed)
	b.completed = make(chan struct{})
}

// Wait blocks until the caller may send one request; call the returned func when its response arrived (or the
// request failed).
func (b *Budget) Wait(ctx context.Context, p Priority) (func(), error) {
	if err := b.wait(ctx, p); err != nil {
		return nil, err
	}
	slot, err := b.acquire(ctx)
	if err != nil {
		return nil, err
	}
	return func() { b.done(slot) }, nil
}

func (b *Budget) wait(ctx context.Context, p Priority) error {
	if p < 0 || p >= numPriorities {
		p = PriorityScan
	}
	b.enter(p)
	defer b.leave(p)
	for {
		b.mu.Lock()
		idle := b.deltaIdle
		paused := time.Until(b.pausedUntil)
		b.mu.Unlock()
		if p == PriorityScan {
			select {
			case <-idle:
			default:
				select {
				case <-idle:
				case <-ctx.Done():
					return ctx.Err()
				}
				continue
			}
		}
		if paused > 0 {
			if err := sleep(ctx, paused); err != nil {
				return err
			}
			continue
		}
		if p == PriorityScan {
			b.scan.Lock()
		}
		r := b.lim.Reserve()
		d := r.Delay()
		if d == rate.InfDuration {
			r.Cancel()
			if p == PriorityScan {
				b.scan.Unlock()
			}
			return fmt.Errorf("oro budget: a request can never be allowed")
		}
		err := sleep(ctx, d)
		if p == PriorityScan {
			b.scan.Unlock()
		}
		if err != nil {
			r.Cancel()
			return err
		}
		b.mu.Lock()
		shared := b.shared
		b.mu.Unlock()
		if shared != nil {
			if err := shared.Take(ctx); err != nil {
				return fmt.Errorf("oro budget: the grant of the connection's shared budget: %w", err)
			}
		}
		b.mu.Lock()
		b.requests++
		b.mu.Unlock()
		if b.metrics != nil {
			b.metrics.requests.WithLabelValues(b.name, p.String()).Inc()
		}
		return nil
	}
}

// Shared is a budget shared with other processes (the connection's active poller and reconciler may run in
// different ones): every request also waits for one of its grants.
type Shared interface {
	Take(ctx context.Context) error
}

// Share makes every request of b also take a grant of s, after b's own limit.
func (b *Budget) Share(s Shared) {
	b.mu.Lock()
	b.shared = s
	b.mu.Unlock()
}

func (b *Budget) enter(p Priority) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waiting[p]++
	if p == PriorityDelta && b.waiting[p] == 1 {
		b.deltaIdle = make(chan struct{})
	}
	if b.metrics != nil {
		b.metrics.waiting.WithLabelValues(b.name, p.String()).Set(float64(b.waiting[p]))
	}
}

func (b *Budget) leave(p Priority) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waiting[p]--
	if p == PriorityDelta && b.waiting[p] == 0 {
		close(b.deltaIdle)
	}
	if b.metrics != nil {
		b.metrics.waiting.WithLabelValues(b.name, p.String()).Set(float64(b.waiting[p]))
	}
}

// Pause stops every caller for d (a Retry-After), keeping a later pause already set.
func (b *Budget) Pause(d time.Duration, reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.throttled++
	if until := time.Now().Add(d); until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
	b.reason = reason
	if b.metrics != nil {
		b.metrics.throttled.WithLabelValues(b.name).Inc()
		b.metrics.pausedSeconds.WithLabelValues(b.name).Set(d.Seconds())
	}
}

// noteRetry records a failure that will be retried after delay.
func (b *Budget) noteRetry(reason string, delay time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.retries++
	b.lastError = reason
	b.reason = fmt.Sprintf("backing off %s after: %s", delay.Round(time.Millisecond), reason)
	if b.metrics != nil {
		b.metrics.retries.WithLabelValues(b.name).Inc()
		b.metrics.backoffSeconds.WithLabelValues(b.name).Set(delay.Seconds())
	}
}

// noteSuccess clears the back-off reason after a successful request.
func (b *Budget) noteSuccess() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.pausedUntil.After(time.Now()) {
		b.reason = ""
		if b.metrics != nil {
			b.metrics.pausedSeconds.WithLabelValues(b.name).Set(0)
			b.metrics.backoffSeconds.WithLabelValues(b.name).Set(0)
		}
	}
}

// State reports what the budget is doing.
func (b *Budget) State() BudgetState {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := BudgetState{PerMinute: b.perMin, Waiting: map[string]int{}, Reason: b.reason, Requests: b.requests,
		Throttled: b.throttled, Retries: b.retries, LastError: b.lastError}
	for p := Priority(0); p < numPriorities; p++ {
		s.Waiting[p.String()] = b.waiting[p]
	}
	if b.pausedUntil.After(time.Now()) {
		s.PausedUntil = b.pausedUntil.UTC()
	}
	return s
}

// Backoff is the retry policy for transient failures (5xx, timeouts, truncated or malformed bodies, 429/503).
type Backoff struct {
	// Attempts is the most tries of one request (default 8); the last error is returned after them.
	Attempts int
	// Base and Max bound the exponential delay (defaults 200 ms and 30 s); the delay is drawn uniformly from
	// [d/2, d] ("equal jitter").
	Base, Max time.Duration
	// MaxRetryAfter caps an honoured Retry-After (default 5 minutes).
	MaxRetryAfter time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Attempts <= 0 {
		b.Attempts = 8
	}
	if b.Base <= 0 {
		b.Base = 200 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	if b.MaxRetryAfter <= 0 {
		b.MaxRetryAfter = 5 * time.Minute
	}
	return b
}

// delay is the wait before retry number n (1-based); jitter in [0,1).
func (b Backoff) delay(n int, jitter float64) time.Duration {
	d := float64(b.Base) * math.Pow(2, float64(n-1))
	if d > float64(b.Max) {
		d = float64(b.Max)
	}
	return time.Duration(d/2 + d/2*jitter)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
