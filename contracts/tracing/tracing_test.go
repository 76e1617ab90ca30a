package tracing

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func TestTraceContextTravelsInLowerCaseNATSHeaders(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := New(tp, "test")
	ctx, span := tr.Start(context.Background(), "publish")
	defer span.End()
	h := nats.Header{}
	tr.Inject(ctx, h)
	if len(h[HeaderTraceparent]) != 1 {
		t.Fatalf("headers %v, want traceparent in lower case", h)
	}
	got := trace.SpanContextFromContext(tr.Extract(context.Background(), h.Get))
	if got.TraceID() != span.SpanContext().TraceID() || got.SpanID() != span.SpanContext().SpanID() || !got.IsRemote() {
		t.Errorf("extracted %v, want the remote context of %v", got, span.SpanContext())
	}
	t.Run("Context gives the same headers", func(t *testing.T) {
		if m := Context(ctx); m[HeaderTraceparent] != h.Get(HeaderTraceparent) {
			t.Errorf("Context = %v, want traceparent %s", m, h.Get(HeaderTraceparent))
		}
	})
}

func TestANilTracerAddsNothing(t *testing.T) {
	var tr *Tracer = New(nil, "test")
	ctx, span := tr.Start(context.Background(), "publish")
	h := nats.Header{}
	tr.Inject(ctx, h)
	p := tr.Publishing(ctx, 1)
	p.Start("publish", &nats.Msg{Subject: "s", Header: h})
	p.End()
	if len(h) != 0 || span.SpanContext().IsValid() || Context(ctx) != nil || tr.Enabled() {
		t.Errorf("a nil tracer added headers %v or a span %v", h, span.SpanContext())
	}
}
