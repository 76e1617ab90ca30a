package rowkit

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
)

// referenceHeaders is outboxHeaders as it was first written: the envelope's map minus what the relay derives,
// keys sorted.
func referenceHeaders(env events.Envelope) string {
	h := env.Headers()
	for _, k := range []string{events.HeaderID, events.HeaderMsgID, events.HeaderType, events.HeaderSpecVersion, events.HeaderDataContentType} {
		delete(h, k)
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(AppendJSONString(b, k), ':')
		b = AppendJSONString(b, h[k])
	}
	return string(append(b, '}'))
}

// referenceEventRow is eventRow as it was first written.
func referenceEventRow(tenant, name string, payload any, subjectID string, v events.SourceVersion, mapping, salt string, at time.Time,
	extra ...string) (model.OrosyncOutbox, error) {
	subject, err := events.EventSubject(tenant, name, subjectID)
	if err != nil {
		return model.OrosyncOutbox{}, err
	}
	parts := append([]string{name, subjectID, v.UpdatedAt.Format(time.RFC3339Nano), v.PayloadHash, mapping}, extra...)
	if salt != "" {
		parts = append(parts, salt)
	}
	env := events.Envelope{ID: events.ID("evt", parts...), Source: events.Source(tenant, "writer"), Type: name, Subject: subjectID, Time: at}
	body, err := json.Marshal(payload)
	if err != nil {
		return model.OrosyncOutbox{}, fmt.Errorf("writer: encoding event: %w", err)
	}
	return model.OrosyncOutbox{Subject: subject, MsgID: env.ID, EventType: name, Headers: referenceHeaders(env), Payload: string(body)}, nil
}

// headerTime is the ce-time of a row's headers (the only value taken from the clock).
func headerTime(t *testing.T, headers string) time.Time {
	t.Helper()
	var h map[string]string
	if err := json.Unmarshal([]byte(headers), &h); err != nil {
		t.Fatalf("headers %s: %v", headers, err)
	}
	at, err := time.Parse(time.RFC3339Nano, h[events.HeaderTime])
	if err != nil {
		t.Fatalf("headers %s: %v", headers, err)
	}
	return at
}

func checkEventRow(t *testing.T, tenant, name string, payload any, subjectID string, v events.SourceVersion, mapping, salt string, extra ...string) {
	t.Helper()
	got, err := EventRow(tenant, name, payload, subjectID, v, mapping, salt, extra...)
	at := time.Now()
	if err == nil {
		at = headerTime(t, got.Headers)
	}
	want, wantErr := referenceEventRow(tenant, name, payload, subjectID, v, mapping, salt, at, extra...)
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("EventRow(%q, %q, %q): error %v, want %v", tenant, name, subjectID, err, wantErr)
	}
	if got != want {
		t.Errorf("EventRow(%q, %q, %#v, %q):\n got %+v\nwant %+v", tenant, name, payload, subjectID, got, want)
	}
}

var oddStrings = []string{"", "plain", `q"uo\te`, "<b>&amp;</b>", "tab\tnl\nret\rbs\bff\f\x00\x1f\x7f", "ü ß 日本",
	"\u2028\u2029", "bad \xff\xfe utf8 \xe2\x82", "acme", "a.b", "a..b", ".a", "a.", "-_9Z"}

func TestEventRowsAreTheBytesOfTheReflectionBuiltOnes(t *testing.T) {
	v := events.SourceVersion{UpdatedAt: time.Date(2026, 3, 4, 5, 6, 7, 89000, time.UTC), PayloadHash: "h1"}
	for _, s := range oddStrings {
		checkEventRow(t, "acme", "customers.person_company_link.created", events.PersonCompanyLinkEvent{ID: s, OrganizationID: "o",
			TenantID: s, PersonEntityID: "p" + s, CompanyEntityID: s + "c", SyncOrigin: events.SyncOrigin}, "sub", v, "v1", "")
		checkEventRow(t, "acme", "customers.address.updated", events.RecordEvent{ID: s, OrganizationID: s, TenantID: "t", SyncOrigin: s},
			"id-1", v, s, s, "x", s)
		checkEventRow(t, "acme", "customers.company.created", events.CustomerEvent{ID: s, EntityID: s, OrganizationID: s, TenantID: s,
			SyncOrigin: s}, "id", events.SourceVersion{UpdatedAt: v.UpdatedAt.In(time.FixedZone("x", 7200)), PayloadHash: s}, "v2", "salt")
		checkEventRow(t, s, "customers.deal.won", map[string]any{"id": s, "n": 1}, "id", v, "v1", "")
		checkEventRow(t, "acme", s, events.RecordEvent{}, "id", v, "v1", "")
		checkEventRow(t, "acme", "customers.deal.won", events.RecordEvent{}, s, v, "v1", "")
	}
	checkEventRow(t, "acme", "customers.deal.won", func() {}, "id", v, "v1", "") // json.Marshal's error
}

func FuzzEventRowsAreTheBytesOfTheReflectionBuiltOnes(f *testing.F) {
	for _, s := range oddStrings {
		f.Add(s, "customers.person.created", "id", s, int64(0))
	}
	f.Fuzz(func(t *testing.T, tenant, name, subjectID, s string, nanos int64) {
		v := events.SourceVersion{UpdatedAt: time.Unix(0, nanos).UTC(), PayloadHash: s}
		checkEventRow(t, tenant, name, events.PersonCompanyLinkEvent{ID: s, OrganizationID: tenant, TenantID: name, PersonEntityID: subjectID,
			CompanyEntityID: s + s, SyncOrigin: s}, subjectID, v, s, s, s)
		checkEventRow(t, tenant, name, events.CustomerEvent{ID: s, EntityID: subjectID, OrganizationID: tenant, TenantID: name, SyncOrigin: s},
			subjectID, v, "v1", "")
		checkEventRow(t, tenant, name, events.RecordEvent{ID: s, OrganizationID: subjectID, TenantID: tenant, SyncOrigin: name},
			subjectID, v, s, "", s)
	})
}

func TestCustomerEventRowIsTheReflectionBuiltOne(t *testing.T) {
	sc := Scope{TenantID: uuid.New(), OrganizationID: uuid.New()}
	id := struct{ entity, profile uuid.UUID }{entity: uuid.New(), profile: uuid.New()}
	v := events.SourceVersion{UpdatedAt: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), PayloadHash: "abc"}
	for _, action := range []string{"created", "updated", "deleted", "restored"} {
		for _, salt := range []string{"", "resolution-7"} {
			got, err := CustomerEventRow("acme", "customers.person."+action, sc, id.entity, id.profile, v, "v3", salt)
			if err != nil {
				t.Fatal(err)
			}
			payload := events.CustomerEvent{ID: id.profile.String(), EntityID: id.entity.String(), OrganizationID: sc.OrganizationID.String(),
				TenantID: sc.TenantID.String(), SyncOrigin: events.SyncOrigin}
			want, err := referenceEventRow("acme", "customers.person."+action, payload, id.entity.String(), v, "v3", salt,
				headerTime(t, got.Headers))
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s:\n got %+v\nwant %+v", action, got, want)
			}
		}
	}
}

func TestOutboxHeadersAreTheMapBuiltOnes(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", -3600))
	for _, s := range oddStrings {
		for _, env := range []events.Envelope{
			{ID: "evt-1", Source: s, Type: "t", Subject: s, Time: at},
			{ID: s, Source: "/orosync/acme/writer", Type: s, Subject: "", Time: at, DataSchema: s},
			{},
		} {
			if got, want := OutboxHeaders(env), referenceHeaders(env); got != want {
				t.Errorf("OutboxHeaders(%+v) = %s, want %s", env, got, want)
			}
		}
		env := events.Envelope{Source: events.Source(s, "writer"), Subject: s, Time: at}
		if got, want := WriterHeaders(s, s, at), referenceHeaders(env); got != want {
			t.Errorf("WriterHeaders(%q) = %s, want %s", s, got, want)
		}
	}
}

// linkRow is a person's link to a company.
type linkRow struct{ id, person, company uuid.UUID }

// linkPayloadOf is the link event payload as it was first built.
func linkPayloadOf(sc Scope, l linkRow) events.PersonCompanyLinkEvent {
	return events.PersonCompanyLinkEvent{ID: l.id.String(), OrganizationID: sc.OrganizationID.String(), TenantID: sc.TenantID.String(),
		PersonEntityID: l.person.String(), CompanyEntityID: l.company.String(), SyncOrigin: events.SyncOrigin}
}

func TestLinkEventRowIsTheReflectionBuiltOne(t *testing.T) {
	sc := Scope{TenantID: uuid.New(), OrganizationID: uuid.New()}
	l := linkRow{id: uuid.New(), person: uuid.New(), company: uuid.New()}
	v := events.SourceVersion{UpdatedAt: time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC), PayloadHash: "h"}
	for _, name := range []string{"customers.person_company_link.created", "customers.person_company_link.deleted"} {
		got, err := LinkEventRow("acme", name, sc, l.id, l.person, l.company, v, "v1")
		if err != nil {
			t.Fatal(err)
		}
		want, err := referenceEventRow("acme", name, linkPayloadOf(sc, l), l.id.String(), v, "v1", "", headerTime(t, got.Headers))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
	}
	if _, err := LinkEventRow("bad tenant", "customers.person_company_link.created", sc, l.id, l.person, l.company, v, "v1"); err == nil {
		t.Error("a tenant that is no subject token: no error")
	}
}
