package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/orosync/orosync/contracts/tracing"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/orosim"
	poller "github.com/orosync/orosync/services/poller/service"
	reconciler "github.com/orosync/orosync/services/reconciler/service"
	transformer "github.com/orosync/orosync/services/transformer/service"
	writer "github.com/orosync/orosync/services/writer/service"
)

// streamHeaders reads the headers of every message stream holds.
func streamHeaders(ctx context.Context, t *testing.T, js jetstream.JetStream, stream string) []nats.Header {
	t.Helper()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []nats.Header
	for uint64(len(out)) < info.State.Msgs {
		batch, err := cons.Fetch(int(info.State.Msgs)-len(out), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			out = append(out, m.Headers())
		}
		if err := batch.Error(); err != nil && ctx.Err() != nil {
			t.Fatal(err)
		}
	}
	return out
}

// spansOf are the ended spans named name whose Oro id attribute is id.
func spansOf(spans tracetest.SpanStubs, name, id string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans {
		if s.Name != name {
			continue
		}
		for _, a := range s.Attributes {
			if a.Key == tracing.AttrID && a.Value.AsString() == id {
				out = append(out, s)
			}
		}
	}
	return out
}

func TestOneContactsWayFromThePollerToMercatoEventsIsOneTrace(t *testing.T) {
	e := newE2E(t)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	e.p.Tracer = tp
	e.sync()
	exp.Reset()                  // the initial import's batches hold several contacts' changes: a trace of their own each
	e.clock.Advance(time.Minute) // the edit's updatedAt (Oro keeps seconds) after the first sync's cursor
	if err := e.sim.UpdateContact("2", map[string]any{"jobTitle": "Traced"}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	spans := exp.GetSpans()

	published := spansOf(spans, poller.SpanPublish, "2")
	if len(published) != 1 {
		t.Fatalf("%d poller spans of contact 2, want 1 (spans: %v)", len(published), names(spans))
	}
	root := published[0].SpanContext
	t.Run("the poller starts the trace", func(t *testing.T) {
		if published[0].Parent.IsValid() {
			t.Errorf("the poller's span has a parent %s", published[0].Parent.SpanID())
		}
	})
	transformed := spansOf(spans, transformer.SpanTransform, "2")
	t.Run("the transformer continues it", func(t *testing.T) {
		if len(transformed) != 1 || transformed[0].Parent.SpanID() != root.SpanID() || transformed[0].SpanContext.TraceID() != root.TraceID() {
			t.Fatalf("transformer spans of contact 2: %+v, want one child of the poller's %s", transformed, root.SpanID())
		}
	})
	t.Run("the writer continues it", func(t *testing.T) {
		applied := spansOf(spans, writer.SpanApply, "2")
		if len(applied) == 0 {
			t.Fatalf("no writer span of contact 2 (spans: %v)", names(spans))
		}
		for _, s := range applied {
			if s.SpanContext.TraceID() != root.TraceID() || len(transformed) == 1 && s.Parent.SpanID() != transformed[0].SpanContext.SpanID() {
				t.Errorf("writer span %s in trace %s under %s, want trace %s under the transformer's span", s.SpanContext.SpanID(),
					s.SpanContext.TraceID(), s.Parent.SpanID(), root.TraceID())
			}
		}
	})
	t.Run("its Mercato events carry it", func(t *testing.T) {
		var traced int
		for _, h := range streamHeaders(e.ctx, t, e.js, events.StreamMercatoEvents) {
			tp := h.Get(tracing.HeaderTraceparent)
			if tp == "" {
				continue // the initial import's, before Reset: traced too, checked below
			}
			if strings.Contains(tp, root.TraceID().String()) {
				traced++
			}
		}
		if traced == 0 {
			t.Errorf("no MERCATO_EVENTS message carries contact 2's trace %s", root.TraceID())
		}
	})
	t.Run("a tombstone's way is one trace from the reconciler", func(t *testing.T) {
		exp.Reset()
		if err := e.sim.DeleteContact("3"); err != nil {
			t.Fatal(err)
		}
		e.sync() // its reconcile pass reads the delete from Oro's audit log
		spans := exp.GetSpans()
		published := spansOf(spans, reconciler.SpanPublish, "3")
		if len(published) != 1 {
			t.Fatalf("%d reconciler spans of contact 3, want 1 (spans: %v)", len(published), names(spans))
		}
		transformed := spansOf(spans, transformer.SpanTransform, "3")
		if len(transformed) != 1 || transformed[0].Parent.SpanID() != published[0].SpanContext.SpanID() {
			t.Errorf("transformer spans of the tombstone: %+v, want one child of the reconciler's %s", transformed,
				published[0].SpanContext.SpanID())
		}
	})
	t.Run("every message on the way carries a trace context", func(t *testing.T) {
		for _, stream := range []string{events.StreamOroRaw, events.StreamMercatoChanges, events.StreamMercatoEvents} {
			for i, h := range streamHeaders(e.ctx, t, e.js, stream) {
				if _, err := trace.ParseTraceState(h.Get(tracing.HeaderTracestate)); err != nil || !validTraceparent(h.Get(tracing.HeaderTraceparent)) {
					t.Errorf("%s message %d: traceparent %q, tracestate %q", stream, i, h.Get(tracing.HeaderTraceparent), h.Get(tracing.HeaderTracestate))
				}
			}
		}
	})
}

func TestWithoutAnExporterMessagesCarryNoTraceContext(t *testing.T) {
	e := newE2EWith(t, orosim.Config{Contacts: 3}, []string{"contacts"}, 200)
	e.sync()
	for _, stream := range []string{events.StreamOroRaw, events.StreamMercatoChanges, events.StreamMercatoEvents} {
		hdrs := streamHeaders(e.ctx, t, e.js, stream)
		if len(hdrs) == 0 {
			t.Fatalf("%s holds no message", stream)
		}
		for i, h := range hdrs {
			if v := h.Get(tracing.HeaderTraceparent); v != "" {
				t.Errorf("%s message %d carries traceparent %q with no exporter", stream, i, v)
			}
		}
	}
}

func TestTracesExportAsTheStandardEnvironmentSays(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		env    map[string]string
		traced bool
		err    string
	}{
		{"nothing set: no tracing", nil, false, ""},
		{"OTEL_TRACES_EXPORTER=none", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, false, ""},
		{"an OTLP endpoint: OTLP", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true, ""},
		{"console", map[string]string{"OTEL_TRACES_EXPORTER": "console"}, true, ""},
		{"gRPC is refused by name", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, false, `"grpc"`},
		{"an unknown exporter is refused by name", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, false, `"zipkin"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp, stop, err := tracerProvider(ctx, func(k string) string { return tc.env[k] }, &strings.Builder{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			if (tp != nil) != tc.traced {
				t.Errorf("provider %v, want one: %v", tp, tc.traced)
			}
		})
	}
}

// validTraceparent says whether v is a W3C traceparent of a sampled, valid span context.
func validTraceparent(v string) bool {
	parts := strings.Split(v, "-")
	if len(parts) != 4 || parts[0] != "00" {
		return false
	}
	tid, err1 := trace.TraceIDFromHex(parts[1])
	sid, err2 := trace.SpanIDFromHex(parts[2])
	return err1 == nil && err2 == nil && tid.IsValid() && sid.IsValid()
}

func names(spans tracetest.SpanStubs) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name
	}
	return out
}
