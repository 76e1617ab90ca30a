package tracing

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Publishing are the spans of messages published together that each start a trace of their own (the records
// the poller or the reconciler publishes to ORO_RAW); nil, from a nil Tracer, does nothing.
type Publishing struct {
	ctx    context.Context
	tracer *Tracer
	spans  []trace.Span
}

// Publishing prepares the spans of up to n messages.
func (t *Tracer) Publishing(ctx context.Context, n int) *Publishing {
	if t == nil {
		return nil
	}
	return &Publishing{ctx: ctx, tracer: t, spans: make([]trace.Span, 0, n)}
}

// Start begins a new trace with a producer span named name for msg and writes its context into msg's headers.
func (p *Publishing) Start(name string, msg *nats.Msg, attrs ...attribute.KeyValue) {
	if p == nil {
		return
	}
	ctx, span := p.tracer.Start(p.ctx, name, trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(append(attrs, AttrSubject.String(msg.Subject))...))
	p.tracer.Inject(ctx, msg.Header)
	p.spans = append(p.spans, span)
}

// Fail marks every span with the failure to store their messages.
func (p *Publishing) Fail(err error) {
	if p == nil {
		return
	}
	for _, s := range p.spans {
		s.RecordError(err)
		s.SetStatus(codes.Error, "not stored")
	}
}

// End ends every span.
func (p *Publishing) End() {
	if p == nil {
		return
	}
	for _, s := range p.spans {
		s.End()
	}
}

// Record is the attributes of an Oro record.
func Record(tenant, typ, id string) []attribute.KeyValue {
	return []attribute.KeyValue{AttrTenant.String(tenant), AttrType.String(typ), AttrID.String(id)}
}
