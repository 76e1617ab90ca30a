package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/domain"
	"github.com/orosync/orosync/services/transformer/mappings"
)

// spelledOutCTO loads mapping oro-v2-cto: the default, but a contact's job title "CTO" spelled out.
func spelledOutCTO(t *testing.T) *domain.Mapping {
	t.Helper()
	b, err := mappings.Files.ReadFile(mappings.Default)
	if err != nil {
		t.Fatal(err)
	}
	v := strings.Replace(string(b), "version: oro-v1", "version: oro-v2-cto", 1)
	v = strings.Replace(v, `{to: jobTitle, from: attributes.jobTitle, as: text}`,
		`{to: jobTitle, field: attributes.jobTitle, expr: 'text(attr.jobTitle) == "CTO" ? "Chief Technology Officer" : text(attr.jobTitle)'}`, 1)
	file := filepath.Join(t.TempDir(), "oro-v2-cto.yaml")
	if err := os.WriteFile(file, []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := domain.LoadMapping(file)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func tombstoneMessage(t *testing.T, id string) Incoming {
	t.Helper()
	tomb := events.Tombstone{RecordRef: events.RecordRef{Tenant: "acme", Type: "contacts", ID: id}, DeletedAt: at, Reason: events.ReasonDiff}
	body, err := json.Marshal(tomb)
	if err != nil {
		t.Fatal(err)
	}
	hdr := events.Envelope{ID: tomb.MsgID(), Source: events.Source("acme", "reconciler"), Type: events.TypeTombstone, Time: at}.Headers()
	return Incoming{Subject: "oro.raw.acme.contacts." + id, Header: func(k string) string { return hdr[k] }, Headers: hdr, Body: body}
}

func TestAReplayWithABasePublishesOnlyWhatTheBaseMapsDifferently(t *testing.T) {
	unchanged := 0
	m, base := spelledOutCTO(t), domain.Default()
	tr := Transform{Now: func() time.Time { return at }, Mapping: m, Unchanged: func() { unchanged++ }}.WithBase(base)
	cfo := strings.Replace(contact, `"jobTitle":"CTO"`, `"jobTitle":"CFO"`, 1)
	for _, tc := range []struct {
		name      string
		in        Incoming
		published string // the ce-type of the one message published; "" for none
	}{
		{"a contact whose title the new mapping spells out", rawMessage(t, "contacts", "42", contact), events.TypeChange},
		{"a contact both map alike", rawMessage(t, "contacts", "42", cfo), ""},
		{"a tombstone both map alike", tombstoneMessage(t, "42"), ""},
		{"bad input", rawMessage(t, "contacts", "1", `{"type":"contacts","id":"1","attributes":{"firstName":{"a":1}}}`), events.TypeDeadLetter},
		// the base run dead-lettered it already
		{"bad input of a type both map alike", rawMessage(t, "accounts", "1", `{"type":"accounts","id":"1","attributes":{"name":{"a":1}}}`), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := unchanged
			out, err := tr.Handle(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if tc.published == "" {
				if len(out) != 0 || unchanged != before+1 {
					t.Fatalf("published %d messages, counted %d unchanged; want none published, one counted", len(out), unchanged-before)
				}
				return
			}
			if len(out) != 1 || out[0].Envelope.Type != tc.published || unchanged != before {
				t.Fatalf("published %v, counted %d unchanged; want one %s, none counted", out, unchanged-before, tc.published)
			}
			if tc.published != events.TypeChange {
				return
			}
			var c events.Change
			if err := json.Unmarshal(out[0].Body, &c); err != nil {
				t.Fatal(err)
			}
			if c.MappingVersion != "oro-v2-cto" || c.Person == nil || c.Person.JobTitle == nil || *c.Person.JobTitle != "Chief Technology Officer" {
				t.Errorf("published %s; want the new mapping's change", out[0].Body)
			}
		})
	}
}

func TestWithoutABaseEveryChangeIsPublished(t *testing.T) {
	tr := Transform{Now: func() time.Time { return at }, Mapping: spelledOutCTO(t)}
	cfo := strings.Replace(contact, `"jobTitle":"CTO"`, `"jobTitle":"CFO"`, 1)
	out, err := tr.Handle(rawMessage(t, "contacts", "42", cfo))
	if err != nil || len(out) != 1 || out[0].Envelope.Type != events.TypeChange {
		t.Fatalf("%v, %v; want the change", out, err)
	}
}
