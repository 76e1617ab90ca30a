package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/orosync/orosync/contracts"
	"github.com/orosync/orosync/events"
	transformer "github.com/orosync/orosync/services/transformer/service"
)

// replayConfig re-transforms ORO_RAW with another mapping version.
type replayConfig struct {
	NatsURL string
	Mapping *transformer.Mapping
	// Base is the mapping Mercato's records were written with: records it maps to the same change are not
	// published again; nil publishes every change.
	Base    *transformer.Mapping
	Metrics *transformer.Metrics
	Tenant  string // empty: every tenant
	Type    string // empty: every type
	Since   time.Time
	Log     *slog.Logger
	// Progress is called about twice a second with messages done and the total to do.
	Progress func(done, total uint64)
}

// ReplayConsumer names the durable consumer a replay with a mapping version uses.
func ReplayConsumer(version string) string { return "transformer-" + version }

// replay creates (or resumes) the durable consumer transformer-<version> on ORO_RAW, from the first message or
// from Since, runs the transformer with the mapping on it until it has caught up, and returns. The consumer stays,
// so a second run resumes; the pipeline's own consumer is not touched.
func replay(ctx context.Context, cfg replayConfig) (uint64, error) {
	js, closeNC, err := connectJS(cfg.NatsURL, "orosync-replay")
	if err != nil {
		return 0, err
	}
	defer closeNC()
	if err := contracts.Ensure(ctx, js, contracts.Options{}); err != nil {
		return 0, err
	}
	cc, err := contracts.Consumer(events.StreamOroRaw, "transformer")
	if err != nil {
		return 0, err
	}
	cc.Durable = ReplayConsumer(cfg.Mapping.Version)
	cc.Name = ""
	cc.Description = fmt.Sprintf("Replay of ORO_RAW with mapping %s (orosync replay).", cfg.Mapping.Version)
	tenant, typ := orAny(cfg.Tenant), orAny(cfg.Type)
	cc.FilterSubject = events.RawFilter(tenant, typ)
	if !cfg.Since.IsZero() {
		since := cfg.Since
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	if cfg.Base != nil {
		if err := checkBase(ctx, js, tenant, typ, cfg.Base, cfg.Mapping); err != nil {
			return 0, err
		}
	}
	cons, err := js.Consumer(ctx, events.StreamOroRaw, cc.Durable)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		if cons, err = js.CreateConsumer(ctx, events.StreamOroRaw, cc); err != nil {
			return 0, fmt.Errorf("creating replay consumer %s: %w", cc.Durable, err)
		}
	case err != nil:
		return 0, err
	default:
		got := cons.CachedInfo().Config
		if got.FilterSubject != cc.FilterSubject {
			return 0, fmt.Errorf("replay consumer %s exists with filter %s, not %s: remove it first (nats consumer rm %s %s)",
				cc.Durable, got.FilterSubject, cc.FilterSubject, events.StreamOroRaw, cc.Durable)
		}
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, err
	}
	start := info.Delivered.Consumer
	total := info.NumPending + info.Delivered.Consumer

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error {
		return transformer.Run(gctx, transformer.Config{NatsURL: cfg.NatsURL, Logger: cfg.Log, Consumer: cc.Durable,
			Mapping: cfg.Mapping, Base: cfg.Base, Metrics: cfg.Metrics})
	})
	var done uint64
	g.Go(func() error {
		defer stop()
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-tick.C:
			}
			info, err := cons.Info(gctx)
			if err != nil {
				if gctx.Err() != nil {
					return nil
				}
				return err
			}
			done = info.AckFloor.Consumer
			if t := info.NumPending + info.Delivered.Consumer; t > total {
				total = t
			}
			if cfg.Progress != nil {
				cfg.Progress(done, total)
			}
			if info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Consumer >= start {
				return nil
			}
		}
	})
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return done, err
	}
	return done, ctx.Err()
}

func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommand("replay", `orosync replay --mapping FILE [flags]

Re-transforms ORO_RAW with another mapping version on its own durable consumer transformer-<version> and exits
when it has caught up; the writer converges Mercato to it. It publishes only the changes the new mapping makes:
a record the base mapping (the one Mercato's records were written with) maps to the same values is left as it is.`, stdout, stderr)
	natsURL := fs.url("nats-url", env("OROSYNC_NATS_URL", "nats://127.0.0.1:4333"), "NATS server `URL` with JetStream holding ORO_RAW (OROSYNC_NATS_URL)")
	mappingFile := fs.String("mapping", "", "mapping version file to replay with (required)")
	baseFile := fs.String("base", env("OROSYNC_MAPPING", ""), "mapping `FILE` Mercato's records were written with, the one the pipeline ran (OROSYNC_MAPPING;\n"+
		"default: the shipped mapping): records it maps to the same values as --mapping are not published again")
	everyRecord := fs.Bool("every-record", false, "publish every record's change, also those the base mapping maps alike (the writer skips\n"+
		"rows whose values are unchanged)")
	tenant := fs.String("tenant", "", "only this tenant (default: every tenant)")
	typ := fs.String("type", "", "only this Oro type (default: every type)")
	since := fs.String("since", "", "only raw messages stored at or after this RFC 3339 time (default: from the start)")
	logLevel := fs.String("log-level", env("OROSYNC_LOG_LEVEL", "warn"), "debug, info, warn or error")
	dryRun := fs.Bool("dry-run", false, "only count, per Oro type, the changes the replay would publish and the records it would leave as\n"+
		"they are, naming a few; publishes nothing and creates no consumer")
	nice := fs.Int("nice", 10, "run at this scheduling niceness (0-19; 0 leaves the priority as started): a replay maps faster than the\n"+
		"writer applies, so at a lower priority it leaves the cores to the writer, PostgreSQL and JetStream, which it waits for")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *nice < 0 || *nice > 19 {
		fmt.Fprintf(stderr, "--nice %d: want 0 to 19\n", *nice)
		return errUsage
	}
	if *mappingFile == "" {
		fmt.Fprintln(stderr, "--mapping FILE is required")
		fs.usage(stderr)
		return errUsage
	}
	m, base, err := replayMappings(*mappingFile, *baseFile, *everyRecord)
	if err != nil {
		return err
	}
	if *dryRun {
		if base == nil {
			fmt.Fprintln(stderr, "--dry-run compares with the base: it does not go with --every-record")
			return errUsage
		}
		return previewReplay(ctx, stdout, *natsURL, *tenant, *typ, m, base)
	}
	metrics, err := transformer.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		return err
	}
	cfg := replayConfig{NatsURL: *natsURL, Mapping: m, Base: base, Metrics: metrics, Tenant: *tenant, Type: *typ,
		Log: (&common{logLevel: *logLevel}).logger(stderr)}
	if *since != "" {
		if cfg.Since, err = time.Parse(time.RFC3339, *since); err != nil {
			return fmt.Errorf("--since %q: want an RFC 3339 time", *since)
		}
	}
	// A replay is a batch job in its own process whose live heap stays small: at the default GOGC the collector
	// runs every few hundred records, so the transformer's lazier setting applies; an operator's GOGC still wins.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	if err := lowerPriority(*nice); err != nil {
		return err
	}
	started := time.Now()
	cfg.Progress = func(done, total uint64) {
		fmt.Fprintf(stdout, "\rreplay %s %s %d/%d", m.Version, bar(int64(done), int64(total)), done, total)
	}
	done, err := replay(ctx, cfg)
	fmt.Fprintln(stdout)
	if err != nil {
		return err
	}
	printReplayed(stdout, done, m, time.Since(started), metrics, cfg.Base, *mappingFile)
	return nil
}

// replayMappings loads a replay's mapping and, unless every record is to be published, its base; a base of the
// same version would leave every record as it is.
func replayMappings(file, baseFile string, everyRecord bool) (m, base *transformer.Mapping, err error) {
	if m, err = transformer.LoadMapping(file); err != nil || everyRecord {
		return m, nil, err
	}
	if base, err = transformer.LoadMapping(baseFile); err != nil {
		return nil, nil, fmt.Errorf("--base: %w", err)
	}
	if base.Version == m.Version {
		return nil, nil, fmt.Errorf("--base %s has the replay's own version %s: give the mapping Mercato's records were written with, or --every-record",
			orDefault(baseFile), m.Version)
	}
	return m, base, nil
}

func orDefault(file string) string {
	if file == "" {
		return "(the shipped mapping)"
	}
	return file
}

// printReplayed is a replay's summary: what it published, what it left as it was, and what to do next.
func printReplayed(w io.Writer, done uint64, m *transformer.Mapping, took time.Duration, metrics *transformer.Metrics, base *transformer.Mapping, file string) {
	changes, unchanged, dead := metrics.Totals()
	left := "every record's change was published (--every-record)."
	if base != nil {
		left = fmt.Sprintf("%d records map to the same values as under %s and were left as they are.", unchanged, base.Version)
	}
	fmt.Fprintf(w, "replayed %d raw messages with mapping %s in %s on consumer %s: published %d changes and %d dead letters; %s\n"+
		"The writer converges Mercato to it.\n"+
		"Switch the pipeline to it: OROSYNC_MAPPING=%s orosync run, then remove the replay consumer: nats consumer rm %s %s -f\n",
		done, m.Version, took.Round(time.Millisecond), ReplayConsumer(m.Version), changes, dead, left, file,
		events.StreamOroRaw, ReplayConsumer(m.Version))
}

// checkBase refuses a base other than the mapping of the latest change the replay's records got: records written
// under a third mapping would keep values the replay takes for unchanged. A replay's own version passes (it resumes).
func checkBase(ctx context.Context, js jetstream.JetStream, tenant, typ string, base, m *transformer.Mapping) error {
	s, err := js.Stream(ctx, events.StreamMercatoChanges)
	if err != nil {
		return fmt.Errorf("stream %s: %w", events.StreamMercatoChanges, err)
	}
	last, err := s.GetLastMsgForSubject(ctx, events.ChangeFilter(tenant, typ))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil // nothing written yet, or no longer kept: nothing to check against
	case err != nil:
		return fmt.Errorf("reading the latest change on %s: %w", events.StreamMercatoChanges, err)
	}
	v := last.Header.Get(events.HeaderMappingVersion)
	if v == "" || v == base.Version || v == m.Version {
		return nil
	}
	return fmt.Errorf("the latest change on %s (%s) was mapped with %s, not with the base %s: give --base that mapping's file, or --every-record",
		events.StreamMercatoChanges, last.Subject, v, base.Version)
}

// previewReplay prints what a replay of tenant's type with m against base would publish (orosync replay --dry-run).
func previewReplay(ctx context.Context, w io.Writer, natsURL, tenant, typ string, m, base *transformer.Mapping) error {
	js, closeNC, err := connectJS(natsURL, "orosync-replay-preview")
	if err != nil {
		return err
	}
	defer closeNC()
	tenant, typ = orAny(tenant), orAny(typ)
	if err := checkBase(ctx, js, tenant, typ, base, m); err != nil {
		fmt.Fprintf(w, "warning: a replay would be refused: %v\n", err)
	}
	counts, err := transformer.PreviewReplay(ctx, js, events.RawFilter(tenant, typ), m, base)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "replay with mapping %s against %s (dry run: nothing published):\n", m.Version, base.Version)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tRAW MESSAGES\tWOULD PUBLISH\tUNCHANGED\tDEAD LETTERS\tNO CHANGE EITHER WAY\tFOR EXAMPLE")
	for _, t := range slices.Sorted(maps.Keys(counts)) {
		c := counts[t]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\n", t, c.Messages, c.Changes, c.Unchanged, c.DeadLetters, c.Skipped,
			strings.Join(c.Examples, " "))
	}
	return tw.Flush()
}

func orAny(s string) string {
	if s == "" {
		return "*"
	}
	return s
}
