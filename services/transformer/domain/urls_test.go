package domain

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
)

func TestSocialProfilesBecomeURLsMercatosValidatorTakes(t *testing.T) {
	const linkedIn = "https://www.linkedin.com/in/"
	for _, c := range []struct {
		in   any
		want any
	}{
		{"https://www.linkedin.com/in/ada-lovelace", "https://www.linkedin.com/in/ada-lovelace"},
		{"  http://example.com/ada ", "http://example.com/ada"},
		{"linkedin.com/in/ada", "https://linkedin.com/in/ada"},
		{"www.linkedin.com/in/ada", "https://www.linkedin.com/in/ada"},
		{"ada-lovelace", linkedIn + "ada-lovelace"},
		{"@ada_l", linkedIn + "ada_l"},
		{"Ada Lovelace", nil},       // a name, not a handle
		{"ada@example.com", nil},    // an email address
		{"ftp://example.com/", nil}, // not a web page
		{"https://", nil},
		{"https://localhost/ada", nil}, // no public host name
		{"https://user:pw@example.com/", nil},
		{"", nil},
		{nil, nil},
		{42.0, nil},
	} {
		got := profileURL(c.in, linkedIn)
		if got != c.want {
			t.Errorf("profileURL(%#v) = %#v, want %#v", c.in, got, c.want)
			continue
		}
		if s, ok := got.(string); ok {
			// What Mercato's z.string().url() checks: new URL(value) parses it (an absolute URL), at most 300 characters.
			if u, err := url.Parse(s); err != nil || !u.IsAbs() || len(s) > maxURL {
				t.Errorf("profileURL(%#v) = %q, which Mercato's validator rejects", c.in, s)
			}
		}
	}
	long := "https://example.com/" + string(make([]byte, 290))
	if got := profileURL(long, linkedIn); got != nil {
		t.Errorf("a URL over 300 characters became %v", got)
	}
}

func mapLead(t *testing.T, attrs, rels string) events.Person {
	t.Helper()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res := json.RawMessage(`{"type":"leads","id":"4","attributes":` + attrs + `,"relationships":` + rels + `}`)
	h, err := events.PayloadHash(res)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Default().Map(events.RawRecord{RecordRef: events.RecordRef{Tenant: "acme", Type: "leads", ID: "4"}, UpdatedAt: &at,
		PayloadHash: h, Resource: res})
	if err != nil || r.Change == nil {
		t.Fatalf("lead: %v %+v", err, r)
	}
	return *r.Change.Person
}

func TestOroProfilesSourcesStatusesLandInMercatosColumns(t *testing.T) {
	t.Run("a contact's handles are URLs, its source a value of Mercato's source dictionary", func(t *testing.T) {
		c, err := mapContact(raw(t, `{"firstName":"Ada","lastName":"L","linkedIn":"ada-lovelace","twitter":"@ada"}`))
		if err != nil {
			t.Fatal(err)
		}
		p := c.Person
		if deref(p.LinkedInURL) != "https://www.linkedin.com/in/ada-lovelace" || deref(p.TwitterURL) != "https://twitter.com/ada" {
			t.Errorf("linkedIn %s twitter %s", deref(p.LinkedInURL), deref(p.TwitterURL))
		}
		if _, ok := p.CustomFields["oro_linked_in"]; ok {
			t.Errorf("a profile that became a URL is also a custom field: %v", p.CustomFields)
		}
	})
	t.Run("a profile no URL can be made of stays a custom field", func(t *testing.T) {
		c, err := mapContact(raw(t, `{"firstName":"Ada","lastName":"L","linkedIn":"Ada on LinkedIn","twitter":null}`))
		if err != nil {
			t.Fatal(err)
		}
		p := c.Person
		if p.LinkedInURL != nil || p.CustomFields["oro_linked_in"] != "Ada on LinkedIn" {
			t.Errorf("linkedIn %v, custom fields %v", p.LinkedInURL, p.CustomFields)
		}
		if _, ok := p.CustomFields["oro_twitter"]; ok {
			t.Errorf("a null twitter is a custom field: %v", p.CustomFields)
		}
	})
	t.Run("a lead's source maps to Mercato's seeded value, its status is the person's status", func(t *testing.T) {
		p := mapLead(t, `{"name":"Lea","firstName":"Lea","lastName":"Day"}`,
			`{"source":{"data":{"type":"leadsources","id":"website"}},"status":{"data":{"type":"leadstatuses","id":"qualified"}}}`)
		if deref(p.Source) != "web_form" || deref(p.Status) != "qualified" || deref(p.LifecycleStage) != "lead" {
			t.Errorf("source %s status %s lifecycle %s", deref(p.Source), deref(p.Status), deref(p.LifecycleStage))
		}
		if len(p.CustomFields) != 0 {
			t.Errorf("custom fields %v, want none: every value has a column", p.CustomFields)
		}
	})
	t.Run("a source Mercato does not seed is kept as Oro names it", func(t *testing.T) {
		p := mapLead(t, `{"name":"Lea"}`, `{"source":{"data":{"type":"leadsources","id":"direct_mail"}}}`)
		if deref(p.Source) != "direct_mail" || p.Status != nil {
			t.Errorf("source %s status %v", deref(p.Source), p.Status)
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
