// Package service wires the transformer: JetStream in, Watermill router, JetStream out.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/contracts/tracing"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/adapters"
	"github.com/orosync/orosync/services/transformer/app"
	"github.com/orosync/orosync/services/transformer/domain"
	"github.com/orosync/orosync/services/transformer/ports"
)

// Config of the transformer.
type Config struct {
	NatsURL     string
	NatsOptions []nats.Option
	Logger      *slog.Logger
	// Consumer is the durable consumer on ORO_RAW (default "transformer", from contracts/).
	Consumer string
	// Mapping is the mapping version to run; nil is the file OROSYNC_MAPPING names, or the shipped default.
	Mapping *domain.Mapping
	// Base, when set (a replay), is the mapping Mercato's records were written with: a record it maps to the same
	// change as Mapping is acknowledged without publishing (counted as unchanged in Metrics).
	Base *domain.Mapping
	// Workers is the number of parallel subscriptions on the consumer (default 64), each with one message in
	// flight; PullMaxMessages is how many messages each one buffers (default 64: 64 × 64 = the consumer's
	// max_ack_pending of 4096).
	Workers         int
	PullMaxMessages int
	// Mappers is the number of goroutines that map messages and publish their changes (default GOMAXPROCS): they
	// do not wait for JetStream (ports.OnWorkers), so about one per core keeps every core busy.
	Mappers int
	// GCPercent is the garbage collector's target (debug.SetGCPercent) while the transformer runs, when the
	// GOGC environment variable is unset (an operator's GOGC wins); 0 is DefaultGCPercent, negative keeps the
	// runtime's. It applies to the whole process (orosync run hosts every service).
	GCPercent int
	// Metrics, when set, counts changes and dead letters (NewMetrics).
	Metrics *Metrics
	// Tracer, when set, continues each raw message's trace with a span and carries it in the changes' headers
	// (contracts/tracing); nil: no spans, no headers.
	Tracer trace.TracerProvider
}

// TracerName names the transformer's spans' instrumentation scope; SpanTransform its span of a raw message.
const (
	TracerName    = "orosync/transformer"
	SpanTransform = ports.SpanTransform
)

// DefaultGCPercent: the transformer allocates much per event and keeps little (the in-flight messages), so a
// lazier collector costs little memory and saves CPU (README, "Measured capacity").
const DefaultGCPercent = 400

// gcPercent sets the collector's target as cfg says and returns the restore.
func gcPercent(cfg Config) (restore func()) {
	p := cfg.GCPercent
	if p == 0 {
		p = DefaultGCPercent
	}
	if p < 0 || os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(p)
	return func() { debug.SetGCPercent(old) }
}

// Run transforms until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Consumer == "" {
		cfg.Consumer = "transformer"
	}
	defer gcPercent(cfg)()
	wlog := adapters.Logger(cfg.Logger.With("service", "transformer"))
	nc, err := natsconn.Connect(cfg.NatsURL, "orosync-transformer-publisher", cfg.Logger, cfg.NatsOptions...)
	if err != nil {
		return fmt.Errorf("transformer: %w", err)
	}
	defer nc.Close()
	// The subscriber drains its connection on Close, so it gets one of its own.
	subConn, err := natsconn.Connect(cfg.NatsURL, "orosync-"+cfg.Consumer, cfg.Logger, cfg.NatsOptions...)
	if err != nil {
		return fmt.Errorf("transformer: %w", err)
	}
	defer subConn.Close()
	ctx, unguardPub := nc.Guard(ctx)
	defer unguardPub()
	ctx, unguardSub := subConn.Guard(ctx)
	defer unguardSub()
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.PullMaxMessages <= 0 {
		cfg.PullMaxMessages = 64
	}
	if cfg.Mappers <= 0 {
		cfg.Mappers = runtime.GOMAXPROCS(0)
	}
	// Every message in flight publishes a change (or a dead letter) at a time: room for all of them.
	pub, err := adapters.NewPublisher(ctx, nc.Conn, 2*cfg.Workers)
	if err != nil {
		return fmt.Errorf("transformer: %w", err)
	}
	sub, err := adapters.NewSubscriber(subConn.Conn, cfg.Consumer, cfg.PullMaxMessages, wlog)
	if err != nil {
		return err
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, wlog)
	if err != nil {
		return fmt.Errorf("transformer: router: %w", err)
	}
	poolCtx, stopPool := context.WithCancel(context.Background())
	defer stopPool()
	// Retries wait on the router's goroutine, not on a mapper; a dead letter is published by the router (rare).
	router.AddMiddleware(
		ports.Observe(cfg.Metrics.seen), // the dead letters of DeadLetterOnError
		ports.DeadLetterOnError("transformer", time.Now),
		ports.RetryAfterAFailure(middleware.Retry{MaxRetries: 3, InitialInterval: 100 * time.Millisecond, Logger: wlog}),
		ports.OnWorkers(poolCtx, cfg.Mappers, pub, ports.Store{Oversize: ports.OversizeDeadLetter("transformer", time.Now),
			Hold: adapters.Holder(subConn.Conn), Log: cfg.Logger.With("service", "transformer")}),
		middleware.Recoverer,
	)
	if cfg.Mapping == nil {
		m, err := domain.LoadMapping(os.Getenv("OROSYNC_MAPPING"))
		if err != nil {
			return fmt.Errorf("transformer: mapping: %w", err)
		}
		cfg.Mapping = m
	}
	// Each handler is one pull subscription on the same durable consumer and handles one message at a time (the
	// input is acknowledged only once its change is stored): parallel subscriptions keep the mappers fed while
	// changes wait for JetStream, and more of them let the NATS connections batch writes (README, "Measured
	// capacity"). Order across records is not needed (the writer orders versions itself).
	handler := ports.Observe(cfg.Metrics.seen)(ports.Trace(tracing.New(cfg.Tracer, TracerName))(
		ports.HandlerFunc(app.Transform{Now: time.Now, Mapping: cfg.Mapping, Unchanged: cfg.Metrics.unchanged}.WithBase(cfg.Base))))
	for i := range cfg.Workers {
		router.AddHandler(fmt.Sprintf("%s-%d", cfg.Consumer, i), events.StreamOroRaw, sub, "", pub, handler)
	}
	if err := watchMaxDeliveries(ctx, nc, cfg); err != nil {
		return err
	}
	cfg.Logger.Debug("transformer running", "consumer", cfg.Consumer, "mapping", cfg.Mapping.Version)
	err = router.Run(ctx)
	if closed := natsconn.Cause(ctx); closed != nil {
		return fmt.Errorf("transformer: %w", closed) // exit non-zero: a supervisor restarts the transformer
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil // stopped while its handlers were still subscribing: a stop, not a failure
	}
	if err != nil {
		return fmt.Errorf("transformer: %w", err)
	}
	return nil
}

// watchMaxDeliveries dead-letters, until ctx is done, what the consumer gives up on after max_deliver deliveries.
func watchMaxDeliveries(ctx context.Context, nc *natsconn.Conn, cfg Config) error {
	js, err := jetstream.New(nc.Conn)
	if err != nil {
		return fmt.Errorf("transformer: %w", err)
	}
	watch, err := natsconn.WatchMaxDeliveries(ctx, nc.Conn, js, events.StreamOroRaw, cfg.Consumer, "transformer", cfg.Logger)
	if err != nil {
		return fmt.Errorf("transformer: %w", err)
	}
	go func() { _ = watch.Run(ctx) }()
	return nil
}
