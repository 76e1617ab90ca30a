// Package app holds the transformer's use case: one raw Oro message in, Mercato changes (or a dead letter) out.
package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/domain"
)

// Incoming is one message from ORO_RAW.
type Incoming struct {
	Subject string
	Header  func(string) string
	// Headers are all headers, kept on a dead letter so a redrive can restore them; when nil, AllHeaders gives
	// them (only a dead letter needs them, so a driver can build them on demand).
	Headers    map[string]string
	AllHeaders func() map[string]string
	// Sequence in ORO_RAW.
	Sequence uint64
	Body     []byte
}

// Outgoing is one message to publish.
type Outgoing struct {
	Subject  string
	Envelope events.Envelope
	// Extensions are further CloudEvents extension headers (the mapping version of a change); read only.
	Extensions map[string]string
	Body       []byte
}

// Transform maps raw Oro messages. Its result never blocks the stream: bad input becomes a dead letter.
type Transform struct {
	Now func() time.Time
	// Mapping maps every Oro type; nil is the shipped default (domain.Default).
	Mapping *domain.Mapping
	// Unchanged, when set, is called for each message left unpublished because the base maps it alike (WithBase).
	Unchanged func()
	// base and alike are set by WithBase.
	base  *domain.Mapping
	alike map[string]bool
}

// WithBase is t for a replay whose records were written with base: a message base maps to the same change as
// Mapping does (but for the mapping version) is acknowledged without publishing, and one of a type both map alike
// (domain.TypesMappedAlike) without even being mapped. A nil base publishes every change.
func (t Transform) WithBase(base *domain.Mapping) Transform {
	t.base, t.alike = base, domain.TypesMappedAlike(t.mapping(), base)
	return t
}

func (t Transform) mapping() *domain.Mapping {
	if t.Mapping != nil {
		return t.Mapping
	}
	return domain.Default()
}

// Handle maps one message. An error means "try again" (it is never bad input; that is dead-lettered).
func (t Transform) Handle(in Incoming) ([]Outgoing, error) {
	ref, err := events.ParseRawSubject(in.Subject)
	if err != nil {
		return t.deadLetter(in, nil, "subject", "subject", err), nil
	}
	env, err := events.ReadEnvelope(in.Header)
	if err != nil {
		return t.deadLetter(in, &ref, "headers", "cloudevents", err), nil
	}
	if t.alike[ref.Type] {
		t.unchanged()
		return nil, nil
	}
	result, dead, err := t.mapWith(t.mapping(), in, ref, env.Type)
	if dead != nil || err != nil {
		return dead, err
	}
	if result.Change == nil {
		return nil, nil // ignored or embedded type: acknowledged, still replayable from ORO_RAW
	}
	body, err := domain.EncodeChange(result.Change)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding change: %w", ref, err)
	}
	if t.base != nil && t.sameUnderBase(in, ref, env.Type, result.Change.MappingVersion, body) {
		t.unchanged()
		return nil, nil
	}
	out, err := t.publish(ref, *result.Change, body)
	if repair := in.Header(events.HeaderRepair); repair != "" && err == nil {
		repaired(out, repair)
	}
	return out, err
}

func (t Transform) unchanged() {
	if t.Unchanged != nil {
		t.Unchanged()
	}
}

// mapWith maps one message with m: its result, or the dead letter of bad input, or an error meaning "try again".
func (t Transform) mapWith(m *domain.Mapping, in Incoming, ref events.RecordRef, ceType string) (domain.Result, []Outgoing, error) {
	var (
		result domain.Result
		err    error
	)
	switch ceType {
	case events.TypeRawRecord:
		if r, ok := m.MapRawJSON(in.Body, ref); ok {
			return r, nil, nil
		}
		// The reference path: it names what is wrong with input the fast path does not take.
		var raw events.RawRecord
		if err := json.Unmarshal(in.Body, &raw); err != nil {
			return result, t.deadLetter(in, &ref, "body", "json", fmt.Errorf("%s: raw record body: %w", ref, err)), nil
		}
		if raw.RecordRef != ref {
			return result, t.deadLetter(in, &ref, "body", "identity", fmt.Errorf("%s: body names %s", ref, raw.RecordRef)), nil
		}
		result, err = m.Map(raw)
	case events.TypeTombstone:
		var tomb events.Tombstone
		if err := json.Unmarshal(in.Body, &tomb); err != nil {
			return result, t.deadLetter(in, &ref, "body", "json", fmt.Errorf("%s: tombstone body: %w", ref, err)), nil
		}
		if tomb.RecordRef != ref {
			return result, t.deadLetter(in, &ref, "body", "identity", fmt.Errorf("%s: body names %s", ref, tomb.RecordRef)), nil
		}
		result, err = m.MapTombstone(tomb)
	default:
		return result, t.deadLetter(in, &ref, "headers.ce-type", "known-type", fmt.Errorf("%s: unknown ce-type %q", ref, ceType)), nil
	}
	if err != nil {
		var fe *domain.FieldError
		if errors.As(err, &fe) {
			return result, t.deadLetter(in, &ref, fe.Field, fe.Rule, err), nil
		}
		return result, nil, err
	}
	return result, nil, nil
}

// sameUnderBase reports whether the base mapping maps the message to the change encoded as body but for the
// mapping version: Mercato got that change when the base mapping ran, so a replay need not publish it again.
func (t Transform) sameUnderBase(in Incoming, ref events.RecordRef, ceType, version string, body []byte) bool {
	base, dead, err := t.mapWith(t.base, in, ref, ceType)
	if dead != nil || err != nil || base.Change == nil {
		return false
	}
	base.Change.MappingVersion = version
	b, err := domain.EncodeChange(base.Change)
	return err == nil && bytes.Equal(b, body)
}

// publish wraps one change, encoded as body, as the message to publish.
func (t Transform) publish(ref events.RecordRef, change events.Change, body []byte) ([]Outgoing, error) {
	subject, err := change.Subject()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err) // unreachable: the raw subject had the same tokens
	}
	return []Outgoing{{
		Subject: subject,
		Envelope: events.Envelope{ID: change.MsgID(), Source: events.Source(ref.Tenant, "transformer"),
			Type: events.TypeChange, Subject: ref.Type + "/" + ref.ID, Time: t.now()},
		Extensions: t.mapping().Extensions(),
		Body:       body,
	}}, nil
}

// repaired marks the changes of a version the reconciler published again (HeaderRepair): ids of their own, so
// MERCATO_CHANGES' duplicate window does not drop them as copies of the change that was lost.
func repaired(out []Outgoing, repair string) {
	for i := range out {
		ext := make(map[string]string, len(out[i].Extensions)+1)
		for k, v := range out[i].Extensions {
			ext[k] = v
		}
		ext[events.HeaderRepair] = repair
		out[i].Extensions = ext
		out[i].Envelope.ID = events.RepairID(out[i].Envelope.ID, repair)
	}
}

func (t Transform) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t Transform) deadLetter(in Incoming, ref *events.RecordRef, field, rule string, cause error) []Outgoing {
	return []Outgoing{DeadLetter("transformer", in, ref, field, rule, cause, t.now())}
}

// DeadLetter wraps a message a stage could not handle.
func DeadLetter(stage string, in Incoming, ref *events.RecordRef, field, rule string, cause error, at time.Time) Outgoing {
	dl := events.DeadLetter{Stage: stage, Record: ref, Field: field, Rule: rule, Reason: cause.Error(),
		Stream: events.StreamOroRaw, Subject: in.Subject, FailedAt: at.UTC()}
	if in.Header != nil {
		dl.MsgID = in.Header(events.HeaderID)
	}
	dl.Headers = in.Headers
	if dl.Headers == nil && in.AllHeaders != nil {
		dl.Headers = in.AllHeaders()
	}
	dl.Sequence = in.Sequence
	dl.SetPayload(in.Body)
	subject, env, body := dl.Message()
	return Outgoing{Subject: subject, Envelope: env, Body: body}
}
