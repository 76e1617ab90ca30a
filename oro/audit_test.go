package oro

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAllAudits(t *testing.T) {
	f := newFakeOro(t)
	var rawQueries []string
	f.api = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/rest/latest/audits" {
			t.Errorf("path %s", r.URL.Path)
		}
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("Accept %q, want the legacy API's application/json", r.Header.Get("Accept"))
		}
		rawQueries = append(rawQueries, r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.URL.RawQuery, "page=1&") {
			_, _ = w.Write([]byte(`[
 {"id":7,"action":"remove","version":3,"objectClass":"Oro\\Bundle\\ContactBundle\\Entity\\Contact","objectName":"Zoë K","objectId":12,"loggedAt":"2026-11-20T10:00:00+00:00","user":1,"data":[]},
 {"id":8,"action":"update","version":2,"objectClass":"Oro\\Bundle\\ContactBundle\\Entity\\Contact","objectName":"Ann","objectId":"13","loggedAt":"2026-11-20T10:00:01+00:00","user":1,"data":{"firstName":{"old":"A","new":"Ann"}}}
]`))
			return
		}
		_, _ = w.Write([]byte(`[]`))
	}
	c := f.client(t)
	class, audited := AuditClass("contacts")
	if !audited {
		t.Fatal("contacts are audited by Oro out of the box")
	}
	since := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	var got []AuditEntry
	for e, err := range c.AllAudits(context.Background(), AuditQuery{ObjectClass: class, Since: since, Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	t.Run("decodes the rows", func(t *testing.T) {
		if len(got) != 2 || got[0].ID != 7 || got[0].Action != AuditRemove || got[0].ObjectID != "12" ||
			got[1].ObjectID != "13" || len(got[1].Fields) != 1 || got[1].Fields[0] != "firstName" ||
			!got[0].LoggedAt.Equal(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)) {
			t.Fatalf("entries %+v", got)
		}
	})
	t.Run("sends the legacy filters, page by page", func(t *testing.T) {
		want := "page=1&limit=2&objectClass=Oro_Bundle_ContactBundle_Entity_Contact&loggedAt>=2026-11-20T09:00:00%2B0000"
		if len(rawQueries) != 2 || rawQueries[0] != want || !strings.HasPrefix(rawQueries[1], "page=2&") {
			t.Fatalf("queries %q, want first %q and then page 2", rawQueries, want)
		}
	})
}

func TestAuditsForbiddenIsReportedNotRetried(t *testing.T) {
	f := newFakeOro(t)
	calls := 0
	f.api = func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"code":403,"message":"Access Denied."}`))
	}
	_, err := f.client(t).Audits(context.Background(), AuditQuery{Action: AuditRemove})
	if !IsForbidden(err) {
		t.Fatalf("error %v, want a 403 IsForbidden recognises", err)
	}
	if calls != 1 {
		t.Fatalf("%d calls, want 1: a 403 is not transient", calls)
	}
}

func TestParseAuditsNamesWhatIsBad(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"id":1}`, "audit list"},
		{`[{"action":"remove","objectId":1,"loggedAt":"2026-11-20T10:00:00+00:00"}]`, "row 0: id"},
		{`[{"id":1,"objectId":1,"loggedAt":"2026-11-20T10:00:00+00:00"}]`, "row 0 (id 1): action"},
		{`[{"id":1,"action":"remove","loggedAt":"2026-11-20T10:00:00+00:00"}]`, "row 0 (id 1): objectId"},
		{`[{"id":1,"action":"remove","objectId":1,"loggedAt":"yesterday"}]`, "row 0 (id 1): loggedAt"},
		{`[] []`, "trailing data"},
	} {
		_, err := parseAudits([]byte(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.body, err, tc.want)
		}
	}
}

func FuzzParseAudits(f *testing.F) {
	f.Add([]byte(`[{"id":7,"action":"remove","version":3,"objectClass":"C","objectId":12,"loggedAt":"2026-11-20T10:00:00+00:00","data":[]}]`))
	f.Add([]byte(`[{"id":8,"action":"update","objectId":"13","loggedAt":"2026-11-20T10:00:01+0000","data":{"a":{"old":1,"new":2}}}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		entries, err := parseAudits(body)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Action == "" || e.ObjectID == "" || e.LoggedAt.IsZero() {
				t.Fatalf("accepted an incomplete row %+v", e)
			}
		}
	})
}
