// Package domain maps Oro records to Mercato changes. Pure functions: no I/O, no clock.
package domain

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/orosync/orosync/events"
)

// MappingVersion of the built-in contact mapping; recorded on every change it produces.
const MappingVersion = "contacts-v1"

// Longest text value accepted into a Mercato column; anything longer is treated as bad input, not truncated.
const maxText = 1000

// FieldError says which field of which record broke which rule. It is permanent: retrying will not help, so the
// record goes to the dead-letter stream and the rest proceeds.
type FieldError struct {
	Record events.RecordRef
	Field  string
	Rule   string
	Detail string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", e.Record.Type, e.Record.ID, e.Field, e.Detail)
}

type resource struct {
	Type       string                     `json:"type"`
	ID         string                     `json:"id"`
	Attributes map[string]json.RawMessage `json:"attributes"`
}

// MapContact turns one observed Oro contact version into an upsert of a Mercato person.
func MapContact(raw events.RawRecord) (events.Change, error) {
	ref := raw.RecordRef
	ferr := func(field, rule, format string, a ...any) error {
		return &FieldError{Record: ref, Field: field, Rule: rule, Detail: fmt.Sprintf(format, a...)}
	}
	var res resource
	if err := json.Unmarshal(raw.Resource, &res); err != nil {
		return events.Change{}, ferr("resource", "json", "not a JSON:API resource object: %v", err)
	}
	if res.Type != raw.Type || res.ID != raw.ID {
		return events.Change{}, ferr("resource", "identity", "resource is %s/%s, subject says %s/%s", res.Type, res.ID, raw.Type, raw.ID)
	}
	if raw.UpdatedAt == nil {
		return events.Change{}, ferr("attributes.updatedAt", "required", "contacts always carry updatedAt; this one has none")
	}
	str := func(name string) (*string, error) {
		v, ok := res.Attributes[name]
		if !ok || string(v) == "null" {
			return nil, nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, ferr("attributes."+name, "string", "want a string or null, got %s", abbreviate(string(v)))
		}
		s = strings.TrimSpace(s)
		if !utf8.ValidString(s) {
			return nil, ferr("attributes."+name, "utf8", "not valid UTF-8")
		}
		if n := utf8.RuneCountInString(s); n > maxText {
			return nil, ferr("attributes."+name, "max-length", "%d characters, at most %d accepted", n, maxText)
		}
		if s == "" {
			return nil, nil
		}
		return &s, nil
	}
	var p events.Person
	var err error
	if p.FirstName, err = str("firstName"); err != nil {
		return events.Change{}, err
	}
	if p.LastName, err = str("lastName"); err != nil {
		return events.Change{}, err
	}
	if p.JobTitle, err = str("jobTitle"); err != nil {
		return events.Change{}, err
	}
	if p.PrimaryPhone, err = str("primaryPhone"); err != nil {
		return events.Change{}, err
	}
	if p.PrimaryEmail, err = str("primaryEmail"); err != nil {
		return events.Change{}, err
	}
	if p.PrimaryEmail != nil {
		addr, perr := mail.ParseAddress(*p.PrimaryEmail)
		if perr != nil || addr.Address != *p.PrimaryEmail {
			return events.Change{}, ferr("attributes.primaryEmail", "email", "%q is not an email address", *p.PrimaryEmail)
		}
		lower := strings.ToLower(*p.PrimaryEmail)
		p.PrimaryEmail = &lower
	}
	p.DisplayName = displayName(p)
	if p.DisplayName == "" {
		return events.Change{}, ferr("attributes.firstName", "required",
			"no firstName, lastName, primaryEmail or primaryPhone to name the person by")
	}
	return events.Change{
		Tenant:         ref.Tenant,
		Op:             events.OpUpsert,
		Aggregate:      events.AggregatePerson,
		Source:         ref,
		SourceVersion:  raw.Version(),
		MappingVersion: MappingVersion,
		Person:         &p,
	}, nil
}

// displayName follows Mercato's people command: "<first> <last>", falling back to what identifies the person.
func displayName(p events.Person) string {
	var parts []string
	for _, s := range []*string{p.FirstName, p.LastName} {
		if s != nil {
			parts = append(parts, *s)
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, " ")
	}
	for _, s := range []*string{p.PrimaryEmail, p.PrimaryPhone} {
		if s != nil {
			return *s
		}
	}
	return ""
}

// MapTombstone turns a deleted Oro contact into a delete of its person.
func MapTombstone(t events.Tombstone) events.Change {
	c := events.Change{
		Tenant:         t.Tenant,
		Op:             events.OpDelete,
		Aggregate:      events.AggregatePerson,
		Source:         t.RecordRef,
		MappingVersion: MappingVersion,
	}
	if t.LastSeen != nil {
		c.SourceVersion = *t.LastSeen
	}
	return c
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
