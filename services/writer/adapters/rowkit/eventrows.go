package rowkit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
)

// An outbox row per written record (two per new contact: the person and its company link) was built with
// encoding/json's reflection, a map of CloudEvents headers, events.EventSubject's split and join, a sha256
// hash.Hash per message id and a uuid.String per mention of an id. The functions here append the same bytes into
// stack buffers (tests compare them with those functions on random input).

// eventSubjectPrefix is where events.EventSubject puts Mercato events.
const eventSubjectPrefix = "mercato.events."

// EventSubject is events.EventSubject(tenant, name, id).
func EventSubject(tenant, name, id string) (string, error) {
	if !events.ValidToken(tenant) || !events.ValidToken(id) || !dottedTokens(name) {
		return events.EventSubject(tenant, name, id) // its error
	}
	return eventSubjectPrefix + tenant + "." + name + "." + id, nil
}

func dottedTokens(s string) bool {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if !events.ValidToken(s[start:i]) {
				return false
			}
			start = i + 1
		}
	}
	return true
}

// eventID is events.ID("evt", name, subjectID, v.UpdatedAt (RFC 3339), v.PayloadHash, mapping, extra..., salt if
// not empty): the message id of an event caused by that source version.
func eventID(name, subjectID string, v events.SourceVersion, mapping, salt string, extra []string) string {
	var buf [512]byte
	b := append(buf[:0], "evt"...)
	b = append(append(b, 0), name...)
	b = append(append(b, 0), subjectID...)
	b = v.UpdatedAt.AppendFormat(append(b, 0), time.RFC3339Nano)
	b = append(append(b, 0), v.PayloadHash...)
	b = append(append(b, 0), mapping...)
	for _, e := range extra {
		b = append(append(b, 0), e...)
	}
	if salt != "" {
		b = append(append(b, 0), salt...)
	}
	sum := sha256.Sum256(b)
	var id [4 + 32]byte
	copy(id[:], "evt-")
	hex.Encode(id[4:], sum[:16])
	return string(id[:])
}

// OutboxEvent builds the outbox row of event name about subjectID (on subject, from eventSubject), caused by source
// version v under mapping.
func OutboxEvent(tenant, subject, name, subjectID, payload string, v events.SourceVersion, mapping, salt string, extra []string) model.OrosyncOutbox {
	return model.OrosyncOutbox{Subject: subject, MsgID: eventID(name, subjectID, v, mapping, salt, extra), EventType: name,
		Headers: WriterHeaders(tenant, subjectID, time.Now()), Payload: payload}
}

// WriterHeaders is outboxHeaders of the writer's envelope (source /orosync/<tenant>/writer, the subject id, the
// time), without building the envelope's strings.
func WriterHeaders(tenant, subjectID string, at time.Time) string {
	var buf [256]byte
	b := append(buf[:0], `{"ce-source":"/orosync/`...)
	b = AppendJSONStringBody(b, tenant)
	b = append(b, `/writer"`...)
	if subjectID != "" {
		b = append(b, `,"ce-subject":`...)
		b = AppendJSONString(b, subjectID)
	}
	b = append(b, `,"ce-time":"`...)
	b = at.UTC().AppendFormat(b, time.RFC3339Nano) // no character to escape
	return string(append(b, `"}`...))
}

// marshalPayload is json.Marshal of an event payload, appended by hand for the payloads written per record.
func marshalPayload(v any) (string, error) {
	var buf [512]byte
	var b []byte
	switch p := v.(type) {
	case events.CustomerEvent:
		b = appendJSONFields(buf[:0], "id", p.ID, "entityId", p.EntityID, "organizationId", p.OrganizationID, "tenantId", p.TenantID,
			"syncOrigin", p.SyncOrigin)
	case events.RecordEvent:
		b = appendJSONFields(buf[:0], "id", p.ID, "organizationId", p.OrganizationID, "tenantId", p.TenantID, "syncOrigin", p.SyncOrigin)
	case events.PersonCompanyLinkEvent:
		b = appendJSONFields(buf[:0], "id", p.ID, "organizationId", p.OrganizationID, "tenantId", p.TenantID,
			"personEntityId", p.PersonEntityID, "companyEntityId", p.CompanyEntityID, "syncOrigin", p.SyncOrigin)
	default:
		body, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("writer: encoding event: %w", err)
		}
		return string(body), nil
	}
	return string(b), nil
}

// appendJSONFields appends a JSON object of string fields (key, value, key, value...); keys need no escaping.
func appendJSONFields(b []byte, kv ...string) []byte {
	b = append(b, '{')
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, kv[i]...)
		b = append(b, '"', ':', '"')
		b = events.AppendJSONStringBody(b, kv[i+1])
		b = append(b, '"')
	}
	return append(b, '}')
}

// OutboxHeaders is the JSON of an event's CloudEvents headers as the outbox stores them: without those the relay
// derives from the row's own columns or that never vary (id and Nats-Msg-Id are msg_id, type is event_type,
// specversion and content type are constant), which halves an outbox row.
func OutboxHeaders(env events.Envelope) string {
	// What json.Marshal of the map of the remaining headers writes (keys sorted), without the map: ce-dataschema,
	// ce-source, ce-subject, ce-time, those set.
	var buf [256]byte
	b := append(buf[:0], '{')
	if env.DataSchema != "" {
		b = appendHeader(b, events.HeaderDataSchema, env.DataSchema)
	}
	b = appendHeader(b, events.HeaderSource, env.Source)
	if env.Subject != "" {
		b = appendHeader(b, events.HeaderSubject, env.Subject)
	}
	b = append(b, `,"`+events.HeaderTime+`":"`...)
	b = env.Time.UTC().AppendFormat(b, time.RFC3339Nano) // no character to escape
	return string(append(b, '"', '}'))
}

func appendHeader(b []byte, k, v string) []byte {
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = AppendJSONString(b, k)
	return AppendJSONString(append(b, ':'), v)
}

// EventRow builds an outbox row; its message id is a hash of the event name, the subject id and the source version
// that caused it (plus salt), so a rewrite of the same version is de-duplicated.
func EventRow(tenant, name string, payload any, subjectID string, v events.SourceVersion, mapping, salt string, extra ...string) (model.OrosyncOutbox, error) {
	subject, err := EventSubject(tenant, name, subjectID)
	if err != nil {
		return model.OrosyncOutbox{}, err
	}
	body, err := marshalPayload(payload)
	if err != nil {
		return model.OrosyncOutbox{}, err
	}
	return OutboxEvent(tenant, subject, name, subjectID, body, v, mapping, salt, extra), nil
}

// Digest names a row state in event ids, so two different updates caused by one source version (e.g. links
// resolved by two later arrivals) are two events, and the same update written twice is one.
func Digest(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// CustomerEventRow is EventRow(tenant, name, payload, entity.String(), v, mapping, salt) of an
// events.CustomerEvent about a person or company (its profile and entity ids), appended without the uuid strings.
func CustomerEventRow(tenant, name string, sc Scope, entity, profile uuid.UUID, v events.SourceVersion, mapping, salt string) (model.OrosyncOutbox, error) {
	var buf [256]byte
	b := append(buf[:0], `{"id":"`...)
	b = AppendUUID(b, profile)
	b = append(b, `","entityId":"`...)
	n := len(b)
	b = AppendUUID(b, entity)
	entityID := string(b[n:])
	b = append(b, `","organizationId":"`...)
	b = AppendUUID(b, sc.OrganizationID)
	b = append(b, `","tenantId":"`...)
	b = AppendUUID(b, sc.TenantID)
	b = append(b, `","syncOrigin":"`...)
	b = events.AppendJSONStringBody(b, events.SyncOrigin)
	b = append(b, `"}`...) // what json.Marshal writes of the events.CustomerEvent
	subject, err := EventSubject(tenant, name, entityID)
	if err != nil {
		return model.OrosyncOutbox{}, err
	}
	return OutboxEvent(tenant, subject, name, entityID, string(b), v, mapping, salt, nil), nil
}

// LinkEventRow is EventRow(tenant, name, payload, link.String(), v, mapping, "") of Mercato's
// customers.person_company_link.* payload (reference §3, events.PersonCompanyLinkEvent), appended without the five
// uuid strings.
func LinkEventRow(tenant, name string, sc Scope, link, person, company uuid.UUID, v events.SourceVersion, mapping string) (model.OrosyncOutbox, error) {
	var buf [320]byte
	b := append(buf[:0], `{"id":"`...)
	n := len(b)
	b = AppendUUID(b, link)
	id := string(b[n:])
	b = AppendUUID(append(b, `","organizationId":"`...), sc.OrganizationID)
	b = AppendUUID(append(b, `","tenantId":"`...), sc.TenantID)
	b = AppendUUID(append(b, `","personEntityId":"`...), person)
	b = AppendUUID(append(b, `","companyEntityId":"`...), company)
	b = events.AppendJSONStringBody(append(b, `","syncOrigin":"`...), events.SyncOrigin)
	b = append(b, `"}`...)
	subject, err := EventSubject(tenant, name, id)
	if err != nil {
		return model.OrosyncOutbox{}, err
	}
	return OutboxEvent(tenant, subject, name, id, string(b), v, mapping, "", nil), nil
}

// WithHeaders is the JSON object of an outbox row's headers with the headers of add set too (keys sorted, so
// the row is the same for the same headers).
func WithHeaders(obj string, add map[string]string) string {
	if len(add) == 0 {
		return obj
	}
	keys := make([]string, 0, len(add))
	for k := range add {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := make([]byte, 0, len(obj)+128)
	switch inner := strings.TrimSpace(obj); {
	case len(inner) >= 2 && inner[0] == '{' && strings.TrimSpace(inner[1:len(inner)-1]) != "":
		b = append(b, inner[:len(inner)-1]...)
		b = append(b, ',')
	default: // "{}" or none
		b = append(b, '{')
	}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, k)
		b = AppendJSONString(append(b, ':'), add[k])
	}
	return string(append(b, '}'))
}
