package orosim

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"
)

// FuzzParseAuditQuery feeds arbitrary query strings to the legacy audit
// filter parser: it must not panic, and whatever it accepts must be usable
// (positive page and limit) and must filter without panicking.
func FuzzParseAuditQuery(f *testing.F) {
	for _, seed := range []string{
		"page=2&limit=5&action=remove&objectClass=Oro_Bundle_ContactBundle_Entity_Contact",
		"loggedAt>=2012-10-12T00:01+0000&loggedAt<2030-01-01",
		"loggedAt%3E%3D2024-05-01T10:00:00Z",
		"loggedAt<>2024-05-01&user=1&objectId=7",
		"limit=0", "page=-1", "loggedAt>=yesterday", "%zz", "a=b=c&&=",
	} {
		f.Add(seed)
	}
	e := auditEntry{ID: 1, Action: "update", Class: `Oro\Bundle\ContactBundle\Entity\Contact`, ObjectID: 7, User: 1,
		LoggedAt: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseAuditQuery(raw)
		if err != nil {
			return
		}
		if q.page < 1 || q.limit < 1 {
			t.Fatalf("%q accepted with page %d limit %d", raw, q.page, q.limit)
		}
		_ = q.matches(e)
	})
}

// FuzzFaultsJSON checks that whatever Faults JSON the admin endpoint accepts
// survives a round trip through encoding/json unchanged.
func FuzzFaultsJSON(f *testing.F) {
	for _, seed := range []string{
		`{"rateLimitPerMinute":60,"errorRate":0.1,"latency":"250ms","clockSkew":-5000000000}`,
		`{"truncateRate":1,"malformedRate":0.5,"auditForbidden":true,"driftEditsPerPage":3}`,
		`{}`, `{"latency":"soon"}`, `{"latncy":1}`, `[]`, `null`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var a Faults
		if json.Unmarshal([]byte(raw), &a) != nil {
			return
		}
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("marshal %+v: %v", a, err)
		}
		var back Faults
		if err := json.Unmarshal(b, &back); err != nil || !slices.Equal(back.DeepRecords, a.DeepRecords) {
			t.Fatalf("round trip of %q: %+v -> %s -> %+v (%v)", raw, a, b, back, err)
		}
		back.DeepRecords, a.DeepRecords = nil, nil
		if !reflect.DeepEqual(back, a) {
			t.Fatalf("round trip of %q: %+v -> %s -> %+v (%v)", raw, a, b, back, err)
		}
	})
}

// FuzzParseRetryAfter: any header value gives a non-negative wait.
func FuzzParseRetryAfter(f *testing.F) {
	for _, seed := range []string{"7", "0", "-3", "Wed, 21 Oct 2015 07:28:00 GMT", "", "soon", "99999999999999999999"} {
		f.Add(seed)
	}
	now := time.Date(2015, 10, 21, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d := parseRetryAfter(v, now); d < 0 {
			t.Fatalf("%q: negative wait %v", v, d)
		}
	})
}
