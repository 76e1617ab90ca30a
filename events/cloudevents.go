package events

import (
	"fmt"
	"time"
)

// CloudEvents NATS protocol binding, binary mode: attributes travel as headers, the body is the event data.
const (
	HeaderSpecVersion     = "ce-specversion"
	HeaderID              = "ce-id"
	HeaderSource          = "ce-source"
	HeaderType            = "ce-type"
	HeaderSubject         = "ce-subject"
	HeaderTime            = "ce-time"
	HeaderDataContentType = "content-type"
	HeaderDataSchema      = "ce-dataschema"
	// HeaderMsgID is JetStream's de-duplication header; we set it to the same value as ce-id.
	HeaderMsgID = "Nats-Msg-Id"
	// HeaderMappingVersion is a CloudEvents extension attribute naming the mapping that produced a change.
	HeaderMappingVersion = "ce-orosyncmapping"
	// HeaderRepair is a CloudEvents extension attribute on a version the reconciler publishes again because Mercato
	// lacks it (a change lost on the way): the reconcile pass. The version and its change get message ids of their
	// own (RepairID), so the duplicate windows do not drop them as copies of what was lost.
	HeaderRepair = "ce-orosyncrepair"

	SpecVersion = "1.0"
)

// RepairID is the message id of a repair (HeaderRepair) of the message with id msgID.
func RepairID(msgID, repair string) string { return ID("repair", msgID, repair) }

// CloudEvents types (ce-type) of orosync's own messages. Mercato customer events use Mercato's event names
// (customers.person.created, ...) as their type, so TypeScript subscribers see the names they already know.
const (
	TypeRawRecord  = "orosync.oro.record.observed"
	TypeTombstone  = "orosync.oro.record.deleted"
	TypeChange     = "orosync.mercato.change"
	TypeDeadLetter = "orosync.deadletter"
)

// Envelope holds the CloudEvents context attributes of one message.
type Envelope struct {
	ID         string
	Source     string
	Type       string
	Subject    string
	Time       time.Time
	DataSchema string
}

// HeaderSetter is satisfied by nats.Header and watermill's message.Metadata.
type HeaderSetter interface{ Set(key, value string) }

// Apply writes the envelope as CloudEvents headers plus Nats-Msg-Id.
func (e Envelope) Apply(h HeaderSetter) {
	h.Set(HeaderSpecVersion, SpecVersion)
	h.Set(HeaderID, e.ID)
	h.Set(HeaderMsgID, e.ID)
	h.Set(HeaderSource, e.Source)
	h.Set(HeaderType, e.Type)
	if e.Subject != "" {
		h.Set(HeaderSubject, e.Subject)
	}
	h.Set(HeaderTime, e.Time.UTC().Format(time.RFC3339Nano))
	h.Set(HeaderDataContentType, "application/json")
	if e.DataSchema != "" {
		h.Set(HeaderDataSchema, e.DataSchema)
	}
}

// Headers returns the envelope as a plain map (for tests and tools).
func (e Envelope) Headers() map[string]string {
	m := mapSetter{}
	e.Apply(m)
	return m
}

type mapSetter map[string]string

func (m mapSetter) Set(k, v string) { m[k] = v }

// ReadEnvelope parses CloudEvents headers; get is nats.Header.Get or message.Metadata.Get.
func ReadEnvelope(get func(string) string) (Envelope, error) {
	if v := get(HeaderSpecVersion); v != SpecVersion {
		return Envelope{}, fmt.Errorf("cloudevents: %s is %q, want %q", HeaderSpecVersion, v, SpecVersion)
	}
	e := Envelope{ID: get(HeaderID), Source: get(HeaderSource), Type: get(HeaderType), Subject: get(HeaderSubject),
		DataSchema: get(HeaderDataSchema)}
	for name, v := range map[string]string{HeaderID: e.ID, HeaderSource: e.Source, HeaderType: e.Type} {
		if v == "" {
			return Envelope{}, fmt.Errorf("cloudevents: required header %s is missing", name)
		}
	}
	if ts := get(HeaderTime); ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return Envelope{}, fmt.Errorf("cloudevents: %s %q: %w", HeaderTime, ts, err)
		}
		e.Time = t
	}
	return e, nil
}

// Source builds the ce-source of a stage for a tenant, e.g. /orosync/acme/poller.
func Source(tenant, stage string) string { return "/orosync/" + tenant + "/" + stage }
