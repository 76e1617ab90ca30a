package adapters

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/orosync/orosync/contracts/tracing"
	"github.com/orosync/orosync/events"
)

// SpanPublish names the poller's span of a record it publishes to ORO_RAW: the first span of the record's trace.
const SpanPublish = "orosync.poller publish"

// publishSpans are the spans of one PublishRaw call, a new trace per record.
type publishSpans struct {
	ctx    context.Context
	tracer *tracing.Tracer
	spans  []trace.Span
}

func (p RawPublisher) spans(ctx context.Context, n int) *publishSpans {
	if !p.Tracer.Enabled() {
		return nil
	}
	return &publishSpans{ctx: ctx, tracer: p.Tracer, spans: make([]trace.Span, 0, n)}
}

// start begins the span of ref's message and writes its trace context into the message's headers.
func (s *publishSpans) start(ref events.RecordRef, msg *nats.Msg) {
	if s == nil {
		return
	}
	ctx, span := s.tracer.Start(s.ctx, SpanPublish, trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(tracing.AttrTenant.String(ref.Tenant), tracing.AttrType.String(ref.Type),
			tracing.AttrID.String(ref.ID), tracing.AttrSubject.String(msg.Subject)))
	s.tracer.Inject(ctx, msg.Header)
	s.spans = append(s.spans, span)
}

// fail marks every span with the publish's failure.
func (s *publishSpans) fail(err error) {
	if s == nil {
		return
	}
	for _, sp := range s.spans {
		sp.RecordError(err)
		sp.SetStatus(codes.Error, "not stored in ORO_RAW")
	}
}

func (s *publishSpans) end() {
	if s == nil {
		return
	}
	for _, sp := range s.spans {
		sp.End()
	}
}
