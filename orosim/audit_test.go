package orosim

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const contactClass = "Oro_Bundle_ContactBundle_Entity_Contact"

func TestAuditRowsOfARecordsLife(t *testing.T) {
	h := newHarness(t, Config{Contacts: 2})
	id, err := h.sim.CreateContact(map[string]any{"firstName": "Zoë", "lastName": "Kowalski"})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	if err := h.sim.UpdateContact(id, map[string]any{"firstName": "Zofia"}); err != nil {
		t.Fatal(err)
	}
	// An update that changes nothing audited writes no row.
	if err := h.sim.UpdateContact(id, map[string]any{"firstName": "Zofia"}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	if err := h.sim.DeleteContact(id); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	getJSON(t, h, "/api/rest/latest/audits", &rows)
	if len(rows) != 3 {
		t.Fatalf("rows %v, want 3", rows)
	}
	start := h.clock.Now().Add(-2 * time.Minute)
	for i, want := range []struct {
		action string
		at     time.Time
	}{{"create", start}, {"update", start.Add(time.Minute)}, {"remove", start.Add(2 * time.Minute)}} {
		r := rows[i]
		if r["action"] != want.action || r["version"] != float64(i+1) || r["objectId"] != float64(3) ||
			r["objectClass"] != `Oro\Bundle\ContactBundle\Entity\Contact` || r["user"] != float64(adminUser) ||
			r["loggedAt"] != want.at.Format("2006-01-02T15:04:05+00:00") {
			t.Errorf("row %d: %v", i, r)
		}
	}
	if rows[0]["objectName"] != "Zoë Kowalski" || rows[1]["objectName"] != "Zofia Kowalski" {
		t.Errorf("object names %v, %v", rows[0]["objectName"], rows[1]["objectName"])
	}
	created := rows[0]["data"].(map[string]any)
	if fn := created["firstName"].(map[string]any); fn["old"] != nil || fn["new"] != "Zoë" {
		t.Errorf("create data %v", created)
	}
	updated := rows[1]["data"].(map[string]any)
	if len(updated) != 1 || updated["firstName"].(map[string]any)["old"] != "Zoë" || updated["firstName"].(map[string]any)["new"] != "Zofia" {
		t.Errorf("update data %v", updated)
	}
	if d, ok := rows[2]["data"].([]any); !ok || len(d) != 0 {
		t.Errorf("remove data %v, want [] (PHP's empty array)", rows[2]["data"])
	}
	var one map[string]any
	getJSON(t, h, "/api/rest/latest/audits/2", &one)
	if one["action"] != "update" {
		t.Errorf("audit 2: %v", one)
	}
	if resp, _ := h.get("/api/rest/latest/audits/99"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing audit: %d", resp.StatusCode)
	}
}

func TestAuditFilters(t *testing.T) {
	h := newHarness(t, Config{Contacts: 10})
	t0 := h.clock.Now()
	for i, id := range []string{"1", "2", "3", "4"} {
		h.clock.Set(t0.Add(time.Duration(i) * time.Hour))
		if err := h.sim.DeleteContact(id); err != nil {
			t.Fatal(err)
		}
	}
	h.token = h.fetchToken()
	if err := h.sim.UpdateContact("5", map[string]any{"jobTitle": "CTO"}); err != nil {
		t.Fatal(err)
	}
	objectIDs := func(path string) string {
		t.Helper()
		var rows []map[string]any
		getJSON(t, h, path, &rows)
		var out []string
		for _, r := range rows {
			out = append(out, strconv.FormatFloat(r["objectId"].(float64), 'f', -1, 64))
		}
		return strings.Join(out, ",")
	}
	cursor := t0.Add(time.Hour).Format("2006-01-02T15:04:05-0700") // +0000, unencoded
	for path, want := range map[string]string{
		"/api/rest/latest/audits?action=remove":                                                                               "1,2,3,4",
		"/api/rest/latest/audits?action=update":                                                                               "5",
		"/api/rest/latest/audits?objectClass=" + contactClass + "&action=remove":                                              "1,2,3,4",
		"/api/rest/latest/audits?objectClass=Oro_Bundle_SalesBundle_Entity_Lead":                                              "",
		"/api/rest/latest/audits?action=remove&loggedAt>=" + cursor:                                                           "2,3,4",
		"/api/rest/latest/audits?action=remove&loggedAt>" + cursor:                                                            "3,4",
		"/api/rest/latest/audits?action=remove&loggedAt<" + cursor:                                                            "1",
		"/api/rest/latest/audits?action=remove&loggedAt%3C%3D" + cursor:                                                       "1,2",
		"/api/rest/latest/audits?action=remove&loggedAt>=" + cursor + "&loggedAt<" + t0.Add(3*time.Hour).Format(time.RFC3339): "2,3",
		"/api/rest/latest/audits?action=remove&limit=2":                                                                       "1,2",
		"/api/rest/latest/audits?action=remove&limit=2&page=2":                                                                "3,4",
		"/api/rest/latest/audits?action=remove&limit=2&page=3":                                                                "",
		"/api/rest/v1/audits?action=remove&ignored=1":                                                                         "1,2,3,4",
	} {
		if got := objectIDs(path); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
}

func TestAuditEndpointErrors(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	if resp, body := h.do(http.MethodGet, "/api/rest/latest/audits", nil); resp.StatusCode != http.StatusUnauthorized || len(body) != 0 {
		t.Errorf("without token: %d %q", resp.StatusCode, body)
	}
	resp, _ := h.do(http.MethodPost, "/api/rest/latest/audits", nil, "Authorization", "Bearer "+h.token)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if resp, _ := h.get("/api/rest/latest/audits?loggedAt>=yesterday"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad loggedAt: %d", resp.StatusCode)
	}
	if resp, _ := h.get("/api/rest/latest/audits?limit=0"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("limit=0: %d", resp.StatusCode)
	}
	if resp, _ := h.get("/api/rest/latest/nothing"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown legacy route: %d", resp.StatusCode)
	}
}

func TestAuditedTypes(t *testing.T) {
	log := auditLog{versions: map[string]int{}}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := &record{ID: 1, Attrs: map[string]any{"subject": "Hello"}, Rels: map[string][]ref{}}
	attrs := []attrDef{{Name: "subject", Kind: kindString}}
	t.Run("leave out calls, notes", func(t *testing.T) {
		for _, typ := range []string{"calls", "notes"} {
			log.record(newTypeDef(typ, attrs, nil, nil, nil), "create", nil, rec, 1, now)
		}
		if len(log.entries) != 0 {
			t.Errorf("calls/notes audited: %v", log.entries)
		}
	})
	t.Run("hold the other types", func(t *testing.T) {
		log.entries = nil
		for _, typ := range []string{"contacts", "accounts", "opportunities", "leads", "cases", "tasks"} {
			log.record(newTypeDef(typ, attrs, nil, nil, nil), "create", nil, rec, 1, now)
		}
		if len(log.entries) != 6 || log.entries[5].Class != `Oro\Bundle\TaskBundle\Entity\Task` || log.entries[5].Name != "Hello" {
			t.Errorf("auditable types: %+v", log.entries)
		}
	})
}

func TestParseAuditQueryReadsRawOperators(t *testing.T) {
	q, err := parseAuditQuery("page=2&limit=5&action=remove&objectClass=Oro%5CBundle%5CContactBundle%5CEntity%5CContact&loggedAt>=2012-10-12T00:01+0000&user=1")
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2012, 10, 12, 0, 1, 0, 0, time.UTC)
	if q.page != 2 || q.limit != 5 || q.action != "remove" || q.class != contactClass || q.user != "1" ||
		len(q.loggedAt) != 1 || q.loggedAt[0].op != ">=" || !q.loggedAt[0].t.Equal(want) {
		t.Errorf("%+v", q)
	}
}
