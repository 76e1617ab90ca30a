package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// figure is one performance figure README.md states and its anchor: what it is compared with in the same run.
type figure struct {
	what   string
	value  measure
	anchor measure
}

// measure is one number of a run: a benchmark's metric, or one derived from several.
type measure struct {
	name string
	get  func(results) (float64, bool)
}

// metric is the value of unit on benchmark bench.
func metric(bench, unit string) measure {
	return measure{bench + " " + unit, func(r results) (float64, bool) { return r.get(bench, unit) }}
}

// constant is an anchor that is a setting, not a measurement (the budget a run was given).
func constant(name string, v float64) measure {
	return measure{name, func(results) (float64, bool) { return v, true }}
}

// perSecond is 1e9 × per ÷ (ns/op of bench): the rate of bench's operations, per of each.
func perSecond(bench string, per float64, name string) measure {
	return measure{name, func(r results) (float64, bool) {
		ns, ok := r.get(bench, "ns/op")
		return per * 1e9 / ns, ok && ns > 0
	}}
}

// sum is the sum of units of bench.
func sum(bench string, units ...string) measure {
	return measure{bench + " " + strings.Join(units, " + "), func(r results) (float64, bool) {
		total := 0.0
		for _, u := range units {
			v, ok := r.get(bench, u)
			if !ok {
				return 0, false
			}
			total += v
		}
		return total, true
	}}
}

const (
	freshness = "BenchmarkFreshness"
	replay    = "BenchmarkEndToEndReplay"
	remap     = "BenchmarkReplayAfterAMappingChange"
)

// figures are README.md's figures in its order ("Freshness", "Measured capacity"), each with its anchor.
func figures() []figure {
	cpuUnits := []string{"postgres-cpu-µs/contact", "nats-cpu-µs/contact", "transformer-cpu-µs/contact", "writer-cpu-µs/contact"}
	return []figure{
		{"freshness with polling, p50", metric(freshness, "poll-p50-ms"), metric(freshness, "poll-interval-ms")},
		{"freshness with polling, p99", metric(freshness, "poll-p99-ms"), metric(freshness, "poll-interval-ms")},
		{"freshness with webhooks, p50", metric(freshness, "webhook-p50-ms"), metric(freshness, "poll-p50-ms")},
		{"freshness with webhooks, p99", metric(freshness, "webhook-p99-ms"), metric(freshness, "poll-p50-ms")},
		{"poller, initial sync at a 1,000 req/min budget: list calls a minute",
			measure{"budget-use-% × 1,000 / 100", func(r results) (float64, bool) {
				v, ok := r.get("BenchmarkInitialSyncOfAMillionContacts/limit-1000-per-min", "budget-use-%")
				return v * 10, ok
			}}, constant("the budget, 1,000 req/min", 1000)},
		{"poller without a rate limit, records/s", metric("BenchmarkInitialSyncOfAMillionContacts/unlimited", "records/s"),
			perSecond("BenchmarkPageOf1000From1MContacts/keyset-recent-noHateoas", 1000, "the simulator serving its pages alone, records/s")},
		{"transformer alone (decode, map, encode), events/s", metric("BenchmarkTransformerEventsPerSecond", "events/s"),
			metric("BenchmarkTransformContacts", "events/s")},
		{"transformer through JetStream, events/s", metric("BenchmarkTransformerThroughJetStream", "events/s"),
			metric("BenchmarkTransformerEventsPerSecond", "events/s")},
		{"writer SQL, insert, contacts/s", metric("BenchmarkWriterSQL/insert", "contacts/s"),
			metric("BenchmarkReferenceUnnestWriter/insert", "contacts/s")},
		{"writer SQL, update every row, contacts/s", metric("BenchmarkWriterSQL/update-every-row", "contacts/s"),
			metric("BenchmarkReferenceUnnestWriter/update-every-row", "contacts/s")},
		{"writer SQL, replay with the same values, contacts/s", metric("BenchmarkWriterSQL/replay-new-mapping-same-values", "contacts/s"),
			metric("BenchmarkWriterSQL/insert", "contacts/s")},
		{"end-to-end replay, contacts/s", metric(replay, "e2e-contacts/s"), metric(replay, "floor-contacts/s")},
		{"writer alone on the replay's changes, contacts/s", metric(replay, "writer-alone-contacts/s"), metric(replay, "floor-contacts/s")},
		{"end-to-end CPU per contact, PostgreSQL", metric(replay, cpuUnits[0]), sum(replay, cpuUnits...)},
		{"end-to-end CPU per contact, JetStream server", metric(replay, cpuUnits[1]), sum(replay, cpuUnits...)},
		{"end-to-end CPU per contact, transformer", metric(replay, cpuUnits[2]), sum(replay, cpuUnits...)},
		{"end-to-end CPU per contact, writer", metric(replay, cpuUnits[3]), sum(replay, cpuUnits...)},
		{"replay after a mapping change rewriting every row, contacts/s", metric(remap, "replay-contacts/s"), metric(remap, "floor-contacts/s")},
		{"the same replay against the first import, contacts/s", metric(remap, "replay-contacts/s"), metric(remap, "import-contacts/s")},
		{"replay after a mapping change of 1 % of the rows, s", metric(remap, "onepct-replay-s"), metric(remap, "import-s")},
		{"the same 1 % replay against one publishing every change, s", metric(remap, "onepct-replay-s"), metric(remap, "onepct-every-record-s")},
		{"first import of the replayed contacts, contacts/s", metric(remap, "import-contacts/s"), metric(remap, "import-floor-contacts/s")},
		{"outbox relay CPU per event, published from memory", metric("BenchmarkRelayOfAContactBatch/from-memory", "cpu-ns/event"),
			metric("BenchmarkRelayOfAContactBatch/from-table", "cpu-ns/event")},
		{"reconciler diff, list calls", metric("BenchmarkDiffOfAMillionIDs", "list-calls"), metric("BenchmarkDiffOfAMillionIDs", "pages")},
	}
}

// write prints the table: each figure, its anchor and the ratio, or that the run did not measure it.
func write(w io.Writer, figs []figure, r results) {
	fmt.Fprintln(w, "| figure | value | anchor | anchor value | ratio |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, f := range figs {
		v, okV := f.value.get(r)
		a, okA := f.anchor.get(r)
		switch {
		case !okV:
			fmt.Fprintf(w, "| %s | not measured in this run (%s) | %s | | |\n", f.what, f.value.name, f.anchor.name)
		case !okA || a == 0:
			fmt.Fprintf(w, "| %s | %s | %s: not measured in this run | | |\n", f.what, num(v), f.anchor.name)
		default:
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", f.what, num(v), f.anchor.name, num(a), strconv.FormatFloat(v/a, 'g', 3, 64))
		}
	}
}

// num prints v with at most six significant digits.
func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
