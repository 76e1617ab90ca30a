// Package tracing carries OpenTelemetry trace context in the headers of orosync's messages (W3C traceparent and
// tracestate), so one Oro record's way from the poller to MERCATO_EVENTS is one trace. A nil *Tracer (no exporter
// configured) does nothing: no span, no header.
package tracing

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Headers the trace context travels in (W3C Trace Context).
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// Attribute keys of orosync's spans.
const (
	AttrTenant   = attribute.Key("orosync.tenant")
	AttrType     = attribute.Key("orosync.oro.type")
	AttrID       = attribute.Key("orosync.oro.id")
	AttrSubject  = attribute.Key("messaging.destination.name")
	AttrMessages = attribute.Key("messaging.batch.message_count")
)

// Tracer starts a service's spans; nil is a tracer that does nothing.
type Tracer struct {
	t trace.Tracer
}

// New is the tracer of a service (its name, e.g. "orosync/poller") on provider; a nil provider gives nil.
func New(provider trace.TracerProvider, service string) *Tracer {
	if provider == nil {
		return nil
	}
	return &Tracer{t: provider.Tracer(service)}
}

// Start starts a span; on a nil tracer it returns ctx and a span that does nothing.
func (t *Tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t == nil {
		return ctx, trace.SpanFromContext(context.Background()) // the no-op span
	}
	return t.t.Start(ctx, name, opts...)
}

// Enabled says whether t records spans (an exporter is configured).
func (t *Tracer) Enabled() bool { return t != nil }

// W3C Trace Context (propagation.TraceContext) writes traceparent and tracestate in lower case, and NATS headers
// keep keys as given.

// Inject writes the trace context of ctx's span into h (nothing when there is none, or t is nil).
func (t *Tracer) Inject(ctx context.Context, h nats.Header) {
	if t == nil {
		return
	}
	propagation.TraceContext{}.Inject(ctx, natsCarrier(h))
}

// InjectMap writes the trace context of ctx's span into m (Watermill metadata, an outbox row's headers).
func (t *Tracer) InjectMap(ctx context.Context, m map[string]string) {
	if t == nil {
		return
	}
	propagation.TraceContext{}.Inject(ctx, propagation.MapCarrier(m))
}

// Extract is ctx with the remote span context get's headers carry, if any (ctx itself when t is nil).
func (t *Tracer) Extract(ctx context.Context, get func(string) string) context.Context {
	if t == nil {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, getter(get))
}

// natsCarrier reads and writes NATS headers with their keys exactly as given (nats.Header's Get and Set do too).
type natsCarrier nats.Header

func (c natsCarrier) Get(k string) string { return nats.Header(c).Get(k) }
func (c natsCarrier) Set(k, v string)     { nats.Header(c).Set(k, v) }
func (c natsCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// getter reads headers through a lookup function (Watermill metadata's Get, a jetstream.Msg's headers).
type getter func(string) string

func (g getter) Get(k string) string { return g(k) }
func (g getter) Set(string, string)  {}
func (g getter) Keys() []string      { return []string{HeaderTraceparent, HeaderTracestate} }

// Context is the trace context of ctx's span as headers (traceparent, and tracestate when set), or nil when ctx
// has no valid span (tracing off): for what carries headers on without a tracer of its own (the writer's outbox).
func Context(ctx context.Context) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	m := make(map[string]string, 2)
	propagation.TraceContext{}.Inject(ctx, propagation.MapCarrier(m))
	return m
}
