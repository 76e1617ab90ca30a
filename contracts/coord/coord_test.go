package coord

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
)

// bucket opens OROSYNC_CURSORS on a connection of its own: each instance in these tests is a process of its own
// as far as NATS can tell.
func bucket(t *testing.T, ctx context.Context, url string) jetstream.KeyValue {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, "OROSYNC_CURSORS")
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *stepClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestAStandbyTakesOverALeaseOnlyOnceItsRevisionStoodStillForThreeQuartersOfAPeriod(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := jstest.Start(t)
	clk := &stepClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	const period = 20 * time.Second
	active := &Lease{KV: bucket(t, ctx, ns.URL), Key: "acme._lease", Holder: "a", Period: period, Now: clk.Now}
	standby := &Lease{KV: bucket(t, ctx, ns.URL), Key: "acme._lease", Holder: "b", Period: period, Now: clk.Now}
	rev, ok, err := active.tryAcquire(ctx, &watch{})
	if err != nil || !ok {
		t.Fatalf("the first instance did not take the free lease: %v", err)
	}
	var w watch
	t.Run("not while the holder renews it", func(t *testing.T) {
		for range 4 {
			if _, ok, err := standby.tryAcquire(ctx, &w); ok || err != nil {
				t.Fatalf("the standby took a lease being renewed (%v)", err)
			}
			clk.Advance(period / 2)
			if rev, err = active.KV.Update(ctx, active.Key, active.value(), rev); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("not before three quarters of a period", func(t *testing.T) {
		if _, ok, _ := standby.tryAcquire(ctx, &w); ok {
			t.Fatal("the standby took the lease at its first sight of the last renewal")
		}
		clk.Advance(3*period/4 - time.Nanosecond)
		if _, ok, _ := standby.tryAcquire(ctx, &w); ok {
			t.Fatal("the standby took the lease before three quarters of a period")
		}
	})
	t.Run("then it does, and the old holder's renewal is refused", func(t *testing.T) {
		clk.Advance(time.Nanosecond)
		if _, ok, err := standby.tryAcquire(ctx, &w); !ok || err != nil {
			t.Fatalf("the standby did not take over a lease unchanged for 3/4 of a period: %v", err)
		}
		if _, err := active.KV.Update(ctx, active.Key, active.value(), rev); !isConflict(err) {
			t.Fatalf("the old holder renewed the taken lease: %v", err)
		}
	})
}

func TestAStoppedHolderReleasesItsLeaseToTheStandby(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := jstest.Start(t)
	const period = 400 * time.Millisecond
	activeCtx, stopActive := context.WithCancel(ctx)
	working := make(chan string, 2)
	work := func(name string) func(context.Context) error {
		return func(ctx context.Context) error { working <- name; <-ctx.Done(); return nil }
	}
	a := &Lease{KV: bucket(t, ctx, ns.URL), Key: "acme._lease", Holder: "a", Period: period}
	b := &Lease{KV: bucket(t, ctx, ns.URL), Key: "acme._lease", Holder: "b", Period: period}
	aDone, bDone := make(chan error, 1), make(chan error, 1)
	go func() { aDone <- a.Run(activeCtx, work("a")) }()
	if got := <-working; got != "a" {
		t.Fatalf("%s works first", got)
	}
	go func() { bDone <- b.Run(ctx, work("b")) }()
	stopActive()
	if err := <-aDone; err != nil {
		t.Fatalf("the stopped holder: %v", err)
	}
	select {
	case got := <-working:
		if got != "b" {
			t.Fatalf("%s works after a stopped", got)
		}
	case <-ctx.Done():
		t.Fatal("the standby never took over")
	}
	cancel()
	<-bDone
}

func TestAHolderWhoseLeaseIsTakenStopsItsWork(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := jstest.Start(t)
	a := &Lease{KV: bucket(t, ctx, ns.URL), Key: "acme._lease", Holder: "a", Period: 400 * time.Millisecond}
	h := holdLease(ctx, a)
	<-h.started
	thief := bucket(t, ctx, ns.URL)
	e, err := thief.Get(ctx, "acme._lease")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := thief.Update(ctx, "acme._lease", []byte(`{"holder":"thief"}`), e.Revision()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.stopped:
	case <-ctx.Done():
		t.Fatal("the holder kept working after its lease was taken")
	}
}

func TestASharedBudgetGrantsNoMoreThanItsLimitAWindowToSeveralProcesses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := jstest.Start(t)
	clk := &stepClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	const limit = 50
	procs := []*SharedBudget{
		{KV: bucket(t, ctx, ns.URL), Key: BudgetKey("acme"), PerWindow: limit, Now: clk.Now},
		{KV: bucket(t, ctx, ns.URL), Key: BudgetKey("acme"), PerWindow: limit, Now: clk.Now},
		{KV: bucket(t, ctx, ns.URL), Key: BudgetKey("acme"), PerWindow: limit, Now: clk.Now},
	}
	// Every process asks at once until it is told to wait: together they get exactly the limit.
	grantAll := func() int {
		var mu sync.Mutex
		total := 0
		var wg sync.WaitGroup
		for _, p := range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					wait, err := p.TryTake(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					if wait > 0 {
						return
					}
					mu.Lock()
					total++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return total
	}
	if got := grantAll(); got != limit {
		t.Fatalf("three processes were granted %d requests in one window, want %d", got, limit)
	}
	clk.Advance(30 * time.Second)
	if got := grantAll(); got != 0 {
		t.Fatalf("%d more granted half a window later, want 0", got)
	}
	clk.Advance(31 * time.Second)
	if got := grantAll(); got != limit {
		t.Fatalf("%d granted once the window passed, want %d", got, limit)
	}
}

// timerClock is a stepped clock with timers: After fires once Advance reaches it, and set receives a value each time
// a timer is asked for, so a test advances only once the instance waits.
type timerClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []clockTimer
	set    chan struct{}
}

type clockTimer struct {
	at time.Time
	c  chan time.Time
}

func (c *timerClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *timerClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	ch := make(chan time.Time, 1)
	c.timers = append(c.timers, clockTimer{at: c.now.Add(d), c: ch})
	c.mu.Unlock()
	c.fire()
	c.set <- struct{}{}
	return ch
}

func (c *timerClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	c.fire()
}

func (c *timerClock) fire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.c <- c.now
	}
	c.timers = kept
}

// A holder whose renewal comes too late (its process stalled past its term) must not renew: a standby may already
// have taken over, so it stops its work first.
func TestAHolderThatOversleptItsTermStopsWithoutRenewing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := jstest.Start(t)
	clk := &timerClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), set: make(chan struct{}, 100)}
	const period = 20 * time.Second
	kv := bucket(t, ctx, ns.URL)
	a := &Lease{KV: kv, Key: "acme._lease", Holder: "a", Period: period, Now: clk.Now, After: clk.After}
	runCtx, stop := context.WithCancel(ctx)
	h := holdLease(runCtx, a)
	awaitTimer := func() {
		select {
		case <-clk.set:
		case <-ctx.Done():
			t.Fatal("the holder never waited for its clock")
		}
	}
	<-h.started
	awaitTimer() // the first renewal's
	taken, err := kv.Get(ctx, a.Key)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(3 * period / 4) // the earliest a standby may take over
	awaitTimer()                // the next thing the holder waits for
	select {
	case <-h.stopped:
	default:
		t.Fatal("the holder still works three quarters of a period after its last renewal")
	}
	e, err := kv.Get(ctx, a.Key)
	if err != nil {
		t.Fatal(err)
	}
	if e.Revision() != taken.Revision() {
		t.Errorf("the holder wrote its lease after its term ended (revision %d, was %d)", e.Revision(), taken.Revision())
	}
	stop()
	<-h.ran
}

// A renewal can be written although its answer came too late for the holder to know: the holder's next renewal then
// finds the key moved on, by itself, and keeps its lease.
func TestAHolderKeepsALeaseItsOwnUnansweredRenewalMovedOn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := jstest.Start(t)
	a := &Lease{KV: bucket(t, ctx, ns.URL), Key: "acme._lease", Holder: "a", Period: 10 * time.Second}
	runCtx, stop := context.WithCancel(ctx)
	h := holdLease(runCtx, a)
	<-h.started
	other := bucket(t, ctx, ns.URL)
	e, err := other.Get(ctx, a.Key)
	if err != nil {
		t.Fatal(err)
	}
	late, err := other.Update(ctx, a.Key, a.value(), e.Revision()) // what a's unanswered renewal wrote
	if err != nil {
		t.Fatal(err)
	}
	for {
		if e, err = other.Get(ctx, a.Key); err != nil {
			t.Fatal(err)
		}
		if e.Revision() > late {
			break
		}
		select {
		case <-h.stopped:
			t.Fatal("the holder gave up a lease its own write had moved on")
		case <-ctx.Done():
			t.Fatal("the holder never renewed again")
		case <-time.After(20 * time.Millisecond):
		}
	}
	select {
	case <-h.stopped:
		t.Fatal("the holder stopped its work for a lease its own write had moved on")
	default:
	}
	stop()
	<-h.ran
}

// holder is a Lease running work that, in its first term, closes started, waits for the term's end and closes
// stopped; later terms wait for their end. ran gets Run's result.
type holder struct {
	started, stopped chan struct{}
	ran              chan error
}

func holdLease(ctx context.Context, l *Lease) holder {
	h := holder{started: make(chan struct{}), stopped: make(chan struct{}), ran: make(chan error, 1)}
	var first sync.Once
	go func() {
		h.ran <- l.Run(ctx, func(wctx context.Context) error {
			first.Do(func() { close(h.started); <-wctx.Done(); close(h.stopped) })
			<-wctx.Done()
			return nil
		})
	}()
	return h
}
