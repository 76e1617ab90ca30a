package ports

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/orosync/orosync/contracts/tracing"
)

// Span names of the writer: one per change, a child of the transformer's span its headers carry, and one per
// batch, whose trace context the batch's events carry to MERCATO_EVENTS.
const (
	SpanApply = "orosync.writer apply"
	SpanBatch = "orosync.writer batch"
)

// traceBatch starts the spans of a batch and returns the context to apply it in (its batch span, which the outbox
// rows written in it carry) and the end of every span. The batch span continues the trace of its changes when they
// all belong to one (a live edit's batch), and is a trace of its own otherwise; either way it links to each
// change's span.
func (c *Consumer) traceBatch(ctx context.Context, work []pending) (context.Context, func()) {
	if !c.Tracer.Enabled() {
		return ctx, func() {}
	}
	spans := make([]trace.Span, 0, len(work)+1)
	links := make([]trace.Link, 0, len(work))
	var parent context.Context
	oneTrace := true
	for _, p := range work {
		remote := c.Tracer.Extract(ctx, p.msg.Headers().Get)
		_, span := c.Tracer.Start(remote, SpanApply, trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(tracing.AttrTenant.String(p.change.Tenant), tracing.AttrType.String(p.change.Source.Type),
				tracing.AttrID.String(p.change.Source.ID)))
		spans = append(spans, span)
		links = append(links, trace.Link{SpanContext: span.SpanContext()})
		switch sc := trace.SpanContextFromContext(remote); {
		case !sc.IsValid():
			oneTrace = false
		case parent == nil:
			parent = remote
		case trace.SpanContextFromContext(parent).TraceID() != sc.TraceID():
			oneTrace = false
		}
	}
	opts := []trace.SpanStartOption{trace.WithLinks(links...), trace.WithAttributes(tracing.AttrMessages.Int(len(work)))}
	if !oneTrace || parent == nil {
		parent, opts = ctx, append(opts, trace.WithNewRoot())
	}
	bctx, batch := c.Tracer.Start(parent, SpanBatch, opts...)
	spans = append(spans, batch)
	return bctx, func() {
		for _, s := range spans {
			s.End()
		}
	}
}
