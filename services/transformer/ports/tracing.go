package ports

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/orosync/orosync/contracts/tracing"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/adapters"
)

// SpanTransform names the transformer's span of one raw message, a child of the poller's span its headers carry.
const SpanTransform = "orosync.transformer transform"

// Trace is a middleware that continues the trace a raw message's headers carry (traceparent) with a span around
// the handler, and writes that span's trace context into the headers of every message the handler returns. A nil
// tracer adds nothing.
func Trace(t *tracing.Tracer) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		if !t.Enabled() {
			return h
		}
		return func(msg *message.Message) ([]*message.Message, error) {
			ctx := t.Extract(context.Background(), msg.Metadata.Get)
			attrs := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer)}
			if ref, err := events.ParseRawSubject(msg.Metadata.Get(adapters.SubjectKey)); err == nil {
				attrs = append(attrs, trace.WithAttributes(tracing.AttrTenant.String(ref.Tenant), tracing.AttrType.String(ref.Type),
					tracing.AttrID.String(ref.ID)))
			}
			ctx, span := t.Start(ctx, SpanTransform, attrs...)
			defer span.End()
			out, err := h(msg)
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, "transform failed")
			}
			for _, m := range out {
				t.InjectMap(ctx, m.Metadata)
			}
			return out, err
		}
	}
}
