package adapters

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
)

// An outbox row per written record (two per new contact: the person and its company link) was built with
// encoding/json's reflection, a map of CloudEvents headers, events.EventSubject's split and join, a sha256
// hash.Hash per message id and a uuid.String per mention of an id: a fifth of the writer's CPU on a
// 1,000-contact batch. The functions here append the same bytes into stack buffers (tests compare them with
// those functions on random input).

// eventSubjectPrefix is where events.EventSubject puts Mercato events.
const eventSubjectPrefix = "mercato.events."

// eventSubject is events.EventSubject(tenant, name, id).
func eventSubject(tenant, name, id string) (string, error) {
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

// outboxEvent builds the outbox row of event name about subjectID (on subject, from eventSubject), caused by source
// version v under mapping.
func outboxEvent(tenant, subject, name, subjectID, payload string, v events.SourceVersion, mapping, salt string, extra []string) model.OrosyncOutbox {
	return model.OrosyncOutbox{Subject: subject, MsgID: eventID(name, subjectID, v, mapping, salt, extra), EventType: name,
		Headers: writerHeaders(tenant, subjectID, time.Now()), Payload: payload}
}

// writerHeaders is outboxHeaders of the writer's envelope (source /orosync/<tenant>/writer, the subject id, the
// time), without building the envelope's strings.
func writerHeaders(tenant, subjectID string, at time.Time) string {
	var buf [256]byte
	b := append(buf[:0], `{"ce-source":"/orosync/`...)
	b = appendJSONStringBody(b, tenant)
	b = append(b, `/writer"`...)
	if subjectID != "" {
		b = append(b, `,"ce-subject":`...)
		b = appendJSONString(b, subjectID)
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
