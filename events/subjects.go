package events

import (
	"fmt"
	"strings"
)

// Stream names, as operators see them in `nats stream ls`.
const (
	StreamOroRaw         = "ORO_RAW"
	StreamMercatoChanges = "MERCATO_CHANGES"
	StreamMercatoEvents  = "MERCATO_EVENTS"
	StreamDeadLetter     = "OROSYNC_DLQ"
)

// Subject prefixes; every subject continues with tenant, entity type and record id.
const (
	rawPrefix    = "oro.raw"
	changePrefix = "mercato.changes"
	eventPrefix  = "mercato.events"
	dlqPrefix    = "orosync.dlq"
)

// ValidToken reports whether s can be one subject token: ^[A-Za-z0-9_-]+$. Tenants, Oro types and Oro ids must be;
// an id that is not is bad input and goes to the dead-letter stream rather than onto a subject it would corrupt.
// A byte loop, not a regexp: it runs several times per message.
func ValidToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func checkTokens(kind string, tokens ...string) error {
	for _, t := range tokens {
		if !ValidToken(t) {
			return fmt.Errorf("%s subject: token %q is empty or contains characters not allowed in a NATS subject token", kind, t)
		}
	}
	return nil
}

// RawSubject is where every observed version and every tombstone of one Oro record goes:
// oro.raw.<tenant>.<oroType>.<oroId>. `nats stream view ORO_RAW --subject` on it shows the record's history.
func RawSubject(tenant, oroType, id string) (string, error) {
	if err := checkTokens("raw", tenant, oroType, id); err != nil {
		return "", err
	}
	return strings.Join([]string{rawPrefix, tenant, oroType, id}, "."), nil
}

// RawFilter is the subject filter for one tenant and type; use "*" for any.
func RawFilter(tenant, oroType string) string {
	return strings.Join([]string{rawPrefix, tenant, oroType, "*"}, ".")
}

// ChangeSubject carries normalized changes: mercato.changes.<tenant>.<aggregate>.<oroType>.<oroId>, where aggregate is
// the short Mercato aggregate name (person, company, deal, ...). Keyed by the source record so that all versions of
// one record stay in order on one subject.
func ChangeSubject(tenant, aggregate, oroType, id string) (string, error) {
	if err := checkTokens("change", tenant, aggregate, oroType, id); err != nil {
		return "", err
	}
	return strings.Join([]string{changePrefix, tenant, aggregate, oroType, id}, "."), nil
}

// ChangeFilter is the subject filter of the changes of one tenant and Oro type, any aggregate; use "*" for any.
func ChangeFilter(tenant, oroType string) string {
	return strings.Join([]string{changePrefix, tenant, "*", oroType, "*"}, ".")
}

// EventSubject carries Mercato-style facts after commit: mercato.events.<tenant>.<event name>.<id>, e.g.
// mercato.events.acme.customers.person.created.3f2a…  Subscribe to mercato.events.*.customers.person.> for people.
func EventSubject(tenant, eventName, id string) (string, error) {
	if err := checkTokens("event", tenant, id); err != nil {
		return "", err
	}
	for _, p := range strings.Split(eventName, ".") {
		if !ValidToken(p) {
			return "", fmt.Errorf("event subject: event name %q is not dotted tokens", eventName)
		}
	}
	return strings.Join([]string{eventPrefix, tenant, eventName, id}, "."), nil
}

// DeadLetterSubject is where a stage parks what it could not handle: orosync.dlq.<stage>.<tenant>.<type>.<id>.
// Tokens that are not valid (the reason a record may be here) are replaced by "_invalid".
func DeadLetterSubject(stage string, ref RecordRef) string {
	tok := func(s string) string {
		if ValidToken(s) {
			return s
		}
		return "_invalid"
	}
	return strings.Join([]string{dlqPrefix, tok(stage), tok(ref.Tenant), tok(ref.Type), tok(ref.ID)}, ".")
}

// ParseRawSubject splits oro.raw.<tenant>.<type>.<id>.
func ParseRawSubject(subject string) (RecordRef, error) {
	p := strings.Split(subject, ".")
	if len(p) != 5 || p[0]+"."+p[1] != rawPrefix {
		return RecordRef{}, fmt.Errorf("subject %q is not oro.raw.<tenant>.<type>.<id>", subject)
	}
	return RecordRef{Tenant: p[2], Type: p[3], ID: p[4]}, nil
}

// ParseChangeSubject splits mercato.changes.<tenant>.<aggregate>.<type>.<id> into the record it changes.
func ParseChangeSubject(subject string) (RecordRef, error) {
	p := strings.Split(subject, ".")
	if len(p) != 6 || p[0]+"."+p[1] != changePrefix {
		return RecordRef{}, fmt.Errorf("subject %q is not mercato.changes.<tenant>.<aggregate>.<type>.<id>", subject)
	}
	return RecordRef{Tenant: p[2], Type: p[4], ID: p[5]}, nil
}
