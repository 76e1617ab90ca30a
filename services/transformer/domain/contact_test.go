package domain

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
)

func raw(t *testing.T, attrs string) events.RawRecord {
	t.Helper()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res := json.RawMessage(`{"type":"contacts","id":"7","attributes":` + attrs + `}`)
	h, err := events.PayloadHash(res)
	if err != nil {
		t.Fatal(err)
	}
	return events.RawRecord{RecordRef: events.RecordRef{Tenant: "acme", Type: "contacts", ID: "7"}, UpdatedAt: &at, PayloadHash: h, Resource: res}
}

func TestContactBecomesPerson(t *testing.T) {
	c, err := mapContact(raw(t, `{"firstName":" Zoë ","lastName":"Łukasiewicz","primaryEmail":"Zoe.L@Example.COM","primaryPhone":"+48 600 100 200","jobTitle":"CTO","emails":[{"email":"Zoe.L@Example.COM"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Person
	t.Run("as an upsert of the current mapping", func(t *testing.T) {
		if c.Op != events.OpUpsert || c.Aggregate != events.AggregatePerson || c.MappingVersion != MappingVersion {
			t.Errorf("change %+v", c)
		}
	})
	t.Run("with trimmed names, a lowercased email", func(t *testing.T) {
		if p.DisplayName != "Zoë Łukasiewicz" || *p.PrimaryEmail != "zoe.l@example.com" || *p.FirstName != "Zoë" || *p.JobTitle != "CTO" || *p.PrimaryPhone != "+48 600 100 200" {
			t.Errorf("person %+v", p)
		}
	})
}

func TestContactWithoutNameIsNamedByEmailThenPhone(t *testing.T) {
	c, err := mapContact(raw(t, `{"firstName":null,"lastName":"","primaryEmail":null,"primaryPhone":"5556661112"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Person.DisplayName != "5556661112" || c.Person.FirstName != nil || c.Person.PrimaryEmail != nil {
		t.Errorf("person %+v", c.Person)
	}
}

func TestBadContactsNameWhatIsWrong(t *testing.T) {
	cases := map[string]struct{ attrs, field, rule string }{
		"invalid email":    {`{"firstName":"A","primaryEmail":"not-an-email"}`, "attributes.primaryEmail", "email"},
		"nothing to name":  {`{"firstName":null,"lastName":null}`, "attributes.firstName", "required"},
		"number as name":   {`{"firstName":42}`, "attributes.firstName", "string"},
		"absurd job title": {`{"firstName":"A","jobTitle":"` + string(make([]byte, 0)) + longString(5000) + `"}`, "attributes.jobTitle", "max-length"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := mapContact(raw(t, tc.attrs))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if fe.Field != tc.field || fe.Rule != tc.rule || fe.Record.ID != "7" {
				t.Errorf("FieldError %+v, want field %s rule %s", fe, tc.field, tc.rule)
			}
		})
	}
}

func TestBrokenResourceIsAFieldErrorNotAPanic(t *testing.T) {
	r := raw(t, `{}`)
	r.Resource = json.RawMessage(`[1,2`)
	var fe *FieldError
	if _, err := mapContact(r); !errors.As(err, &fe) || fe.Field != "resource" {
		t.Errorf("err = %v", err)
	}
}

func TestTombstoneBecomesDeleteAtLastSeenVersion(t *testing.T) {
	v := events.SourceVersion{UpdatedAt: time.Unix(100, 0).UTC(), PayloadHash: "h"}
	c := mapTombstone(events.Tombstone{RecordRef: events.RecordRef{Tenant: "acme", Type: "contacts", ID: "7"}, LastSeen: &v, Reason: "id-diff"})
	if c.Op != events.OpDelete || c.SourceVersion != v || c.Person != nil {
		t.Errorf("change %+v", c)
	}
}

func longString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}

func FuzzMapContact(f *testing.F) {
	f.Add([]byte(`{"type":"contacts","id":"7","attributes":{"firstName":"Zoë","primaryEmail":"z@example.com"}}`))
	f.Add([]byte(`{"type":"contacts","id":"7","attributes":{"firstName":null,"emails":[]}}`))
	f.Add([]byte(`{"type":"contacts","id":"7","attributes":{"primaryEmail":"<a@b>"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, resource []byte) {
		at := time.Unix(0, 0)
		r := events.RawRecord{RecordRef: events.RecordRef{Tenant: "acme", Type: "contacts", ID: "7"}, UpdatedAt: &at, Resource: resource}
		c, err := mapContact(r)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a FieldError: %v", err)
			}
			return
		}
		if c.Person == nil || c.Person.DisplayName == "" {
			t.Fatalf("mapped without a display name: %+v", c)
		}
	})
}
