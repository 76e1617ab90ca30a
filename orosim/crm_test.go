package orosim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func crmHarness(t *testing.T) *harness {
	t.Helper()
	return newHarness(t, Config{Contacts: 60, Counts: map[string]int{
		"accounts": 12, "b2bcustomers": 8, "opportunities": 30, "leads": 30, "tasks": 25, "calls": 20,
		"notes": 20, "emails": 10, "cases": 15,
	}})
}

// send makes an authenticated JSON:API write and decodes the answer.
func (h *harness) send(method, path, body string, headers ...string) (*http.Response, doc) {
	h.t.Helper()
	headers = append([]string{"Authorization", "Bearer " + h.token, "Content-Type", mediaType}, headers...)
	resp, b := h.do(method, path, strings.NewReader(body), headers...)
	var d doc
	if len(b) > 0 {
		if err := json.Unmarshal(b, &d); err != nil {
			h.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp, d
}

func TestEveryCRMTypeIsListedWithItsShape(t *testing.T) {
	h := crmHarness(t)
	want := map[string][]string{
		"accounts":         {"name", "createdAt", "updatedAt"},
		"b2bcustomers":     {"name", "lifetime", "emails", "phones"},
		"opportunities":    {"name", "probability", "budgetAmountCurrency", "budgetAmountValue", "closeRevenueValue", "closeDate"},
		"leads":            {"name", "companyName", "primaryEmail", "emails", "phones"},
		"tasks":            {"subject", "description", "dueDate"},
		"calls":            {"subject", "phoneNumber", "callDateTime", "duration"},
		"notes":            {"message"},
		"emails":           {"subject", "sentAt", "from", "toRecipients", "body"},
		"cases":            {"subject", "description", "reportedAt"},
		"users":            {"username", "email", "enabled"},
		"organizations":    {"name", "enabled"},
		"businessunits":    {"name"},
		"contactaddresses": {"primary", "street", "city"},
	}
	for typ, fields := range want {
		d, _ := h.getDoc("/api/"+typ+"?page[size]=3", http.StatusOK)
		data, _ := d["data"].([]any)
		if len(data) == 0 {
			t.Errorf("%s: empty", typ)
			continue
		}
		a := attrs(data[0])
		for _, f := range fields {
			if _, ok := a[f]; !ok {
				t.Errorf("%s: no attribute %s in %v", typ, f, a)
			}
		}
	}
}

func TestOpportunityNumbersAreWrittenAsOroWritesThem(t *testing.T) {
	h := crmHarness(t)
	d, _ := h.getDoc("/api/opportunities?page[size]=-1", http.StatusOK)
	for _, r := range d["data"].([]any) {
		a := attrs(r)
		v, ok := a["budgetAmountValue"].(string)
		if !ok || !strings.Contains(v, ".") || len(v)-strings.Index(v, ".") != 5 {
			t.Fatalf("budgetAmountValue %#v", a["budgetAmountValue"])
		}
		if p, ok := a["probability"].(float64); !ok || p < 0 || p > 1 {
			t.Fatalf("probability %#v", a["probability"])
		}
	}
}

func TestPerTypeQueryCapabilities(t *testing.T) {
	h := crmHarness(t)
	t.Run("an unsupported filter is refused", func(t *testing.T) {
		for _, path := range []string{
			"/api/accounts?filter[updatedAt][gte]=2024-01-01", "/api/opportunities?filter[updatedAt][gte]=2024-01-01",
			"/api/accounts?filter[createdAt]=2024-01-01", "/api/notes?filter[message]=x",
		} {
			d, _ := h.getDoc(path, http.StatusBadRequest)
			if e := firstError(t, d); e["title"] != "filter constraint" || e["detail"] != "The filter is not supported." || e["source"] == nil {
				t.Errorf("%s: %v", path, e)
			}
		}
	})
	t.Run("an unsupported sort is refused", func(t *testing.T) {
		for _, path := range []string{"/api/accounts?sort=updatedAt", "/api/opportunities?sort=-updatedAt"} {
			d, _ := h.getDoc(path, http.StatusBadRequest)
			if e := firstError(t, d); e["title"] != "sort constraint" {
				t.Errorf("%s: %v", path, e)
			}
		}
	})
	t.Run("a supported filter or sort is served", func(t *testing.T) {
		for _, path := range []string{
			"/api/leads?filter[updatedAt][gte]=2024-01-01&sort=updatedAt", "/api/tasks?filter[updatedAt][gte]=2000-01-01&sort=updatedAt",
			"/api/calls?filter[updatedAt][gte]=2000-01-01&sort=updatedAt", "/api/opportunities?filter[createdAt][gte]=2000-01-01&sort=createdAt",
			"/api/opportunities?filter[status]=won", "/api/accounts?filter[name]=x", "/api/cases?filter[reportedAt][gte]=2000-01-01",
			"/api/tasks?filter[ownerUsername]=admin", "/api/users?filter[username]=admin", "/api/calls?filter[externalId]=a,b",
		} {
			h.getDoc(path, http.StatusOK)
		}
	})
	t.Run("the status filter selects by status", func(t *testing.T) {
		for _, id := range h.listIDs("/api/opportunities?filter[status]=won&page[size]=-1") {
			d, _ := h.getDoc("/api/opportunities/"+id, http.StatusOK)
			if st := d["data"].(doc)["relationships"].(doc)["status"].(doc)["data"].(doc)["id"]; st != "won" {
				t.Errorf("opportunity %s status %v", id, st)
			}
		}
	})
}

func TestSeededCRMDataHasRealisticShape(t *testing.T) {
	h := crmHarness(t)
	rels := func(typ, id string) doc {
		d, _ := h.getDoc("/api/"+typ+"/"+id, http.StatusOK, "X-Include", "noHateoas")
		return d["data"].(doc)["relationships"].(doc)
	}
	// Activities have 1..4 targets, and each target lists the activity back.
	for _, id := range h.listIDs("/api/tasks?page[size]=-1") {
		targets := rels("tasks", id)["activityTargets"].(doc)["data"].([]any)
		if len(targets) < 1 || len(targets) > 4 {
			t.Fatalf("task %s has %d targets", id, len(targets))
		}
		tg := targets[0].(doc)
		back := rels(tg["type"].(string), tg["id"].(string))["activityTasks"].(doc)["data"].([]any)
		if !slices.ContainsFunc(back, func(x any) bool { return x.(doc)["id"] == id }) {
			t.Errorf("task %s not in activityTasks of %v", id, tg)
		}
	}
	// A call's owner is one of its targets, as Oro adds it (OroCRMCallBundle get_call.yml).
	for _, id := range h.listIDs("/api/calls?page[size]=-1") {
		r := rels("calls", id)
		owner := r["owner"].(doc)["data"].(doc)
		if !slices.ContainsFunc(r["activityTargets"].(doc)["data"].([]any), func(x any) bool {
			return x.(doc)["type"] == "users" && x.(doc)["id"] == owner["id"]
		}) {
			t.Errorf("call %s: owner %v not among its targets", id, owner)
		}
	}
	// Every opportunity has an account; a customer belongs to that account.
	for _, id := range h.listIDs("/api/opportunities?page[size]=-1") {
		r := rels("opportunities", id)
		acc, _ := r["account"].(doc)["data"].(doc)
		if acc == nil {
			t.Fatalf("opportunity %s without account", id)
		}
		if cust, _ := r["customer"].(doc)["data"].(doc); cust != nil {
			if ca := rels("b2bcustomers", cust["id"].(string))["account"].(doc)["data"].(doc); ca["id"] != acc["id"] {
				t.Errorf("opportunity %s: customer's account %v, opportunity's %v", id, ca, acc)
			}
		}
	}
	// Some leads were converted to opportunities.
	converted := 0
	for _, id := range h.listIDs("/api/leads?page[size]=-1") {
		if ops := rels("leads", id)["opportunities"].(doc)["data"].([]any); len(ops) > 0 {
			converted++
		}
	}
	if converted == 0 {
		t.Error("no converted leads")
	}
	// Accounts list the contacts that point to them.
	withContacts := 0
	for _, id := range h.listIDs("/api/accounts?page[size]=-1") {
		for _, c := range rels("accounts", id)["contacts"].(doc)["data"].([]any) {
			withContacts++
			back := rels("contacts", c.(doc)["id"].(string))["accounts"].(doc)["data"].([]any)
			if !slices.ContainsFunc(back, func(x any) bool { return x.(doc)["id"] == id }) {
				t.Errorf("account %s lists contact %v that does not list it", id, c)
			}
		}
	}
	if withContacts == 0 {
		t.Error("no account has contacts")
	}
}

func TestIncludePutsRelatedResourcesInIncluded(t *testing.T) {
	h := crmHarness(t)
	d, _ := h.getDoc("/api/opportunities?page[size]=5&include=account,status,lead.account&fields[accounts]=name", http.StatusOK)
	inc, _ := d["included"].([]any)
	types := map[string]int{}
	seen := map[string]bool{}
	for _, x := range inc {
		r := x.(doc)
		key := r["type"].(string) + "/" + r["id"].(string)
		if seen[key] {
			t.Errorf("%s included twice", key)
		}
		seen[key] = true
		types[r["type"].(string)]++
		if r["type"] == "accounts" {
			if a := attrs(r); len(a) != 1 || a["name"] == nil {
				t.Errorf("included account ignores fields[accounts]: %v", a)
			}
		}
	}
	if types["accounts"] == 0 || types["opportunitystatuses"] == 0 {
		t.Errorf("included types %v", types)
	}
	d, _ = h.getDoc("/api/contacts?include=shoes", http.StatusBadRequest)
	if e := firstError(t, d); e["source"].(doc)["parameter"] != "include" {
		t.Errorf("bad include: %v", e)
	}
}

func TestMetaTitle(t *testing.T) {
	h := crmHarness(t)
	d, _ := h.getDoc("/api/opportunities?meta=title&page[size]=2", http.StatusOK)
	for _, r := range d["data"].([]any) {
		m, _ := r.(doc)["meta"].(doc)
		if m["title"] != attrs(r)["name"] {
			t.Errorf("meta %v, name %v", m, attrs(r)["name"])
		}
	}
	d, _ = h.getDoc("/api/contacts?meta=another", http.StatusBadRequest)
	if e := firstError(t, d); e["detail"] != `The "another" is not known meta property. Known properties: title.` {
		t.Errorf("%v", e)
	}
	h.getDoc("/api/notes?meta=title", http.StatusBadRequest) // disabled for notes
}

func TestReferenceData(t *testing.T) {
	h := crmHarness(t)
	t.Run("enum values are listed", func(t *testing.T) {
		d, _ := h.getDoc("/api/opportunitystatuses", http.StatusOK)
		if got := ids(d); !slices.Contains(got, "won") || !slices.Contains(got, "in_progress") {
			t.Errorf("statuses %v", got)
		}
	})
	t.Run("a dictionary entry is read by id", func(t *testing.T) {
		d, _ := h.getDoc("/api/countries/US", http.StatusOK)
		if attrs(d["data"])["name"] != "United States" {
			t.Errorf("US: %v", d)
		}
	})
	t.Run("an unknown entry is not found", func(t *testing.T) {
		h.getDoc("/api/leadstatuses/nope", http.StatusNotFound)
	})
}

func TestRelatedRecordReads(t *testing.T) {
	h := crmHarness(t)
	d, _ := h.getDoc("/api/opportunities/1/relationships/account", http.StatusOK)
	linkage := d["data"].(doc)
	if linkage["type"] != "accounts" || linkage["attributes"] != nil {
		t.Errorf("linkage %v", d)
	}
	d, _ = h.getDoc("/api/opportunities/1/account", http.StatusOK)
	if d["data"].(doc)["id"] != linkage["id"] || attrs(d["data"])["name"] == nil {
		t.Errorf("related account %v", d)
	}
	d, _ = h.getDoc("/api/accounts/1/contacts", http.StatusOK)
	if _, ok := d["data"].([]any); !ok {
		t.Errorf("to-many subresource %v", d)
	}
	h.getDoc("/api/opportunities/99999/account", http.StatusNotFound)
}

func TestCreateUpdateDeleteThroughAPI(t *testing.T) {
	h := crmHarness(t)
	resp, d := h.send(http.MethodPost, "/api/opportunities", `{"data":{"type":"opportunities","attributes":{"name":"New Opportunity","budgetAmountValue":50,"budgetAmountCurrency":"USD","probability":0.5},`+
		`"relationships":{"status":{"data":{"type":"opportunitystatuses","id":"lost"}},"customer":{"data":{"type":"b2bcustomers","id":"2"}}}}}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, d)
	}
	id := d["data"].(doc)["id"].(string)
	if !strings.HasSuffix(resp.Header.Get("Location"), "/api/opportunities/"+id) {
		t.Errorf("Location %q", resp.Header.Get("Location"))
	}
	a := attrs(d["data"])
	if a["budgetAmountValue"] != "50.0000" || a["probability"] != 0.5 || a["createdAt"] == nil {
		t.Errorf("created attributes %v", a)
	}
	// Only a customer was sent: the account follows from it.
	if acc := d["data"].(doc)["relationships"].(doc)["account"].(doc)["data"]; acc == nil {
		t.Errorf("account not filled from the customer")
	}
	resp, d = h.send(http.MethodPatch, "/api/opportunities/"+id, `{"data":{"type":"opportunities","id":"`+id+`","attributes":{"name":"Renamed","createdAt":"1999-01-01T00:00:00Z"}}}`)
	if resp.StatusCode != http.StatusOK || attrs(d["data"])["name"] != "Renamed" || attrs(d["data"])["createdAt"] == "1999-01-01T00:00:00Z" {
		t.Errorf("update: %d %v", resp.StatusCode, d)
	}
	resp, _ = h.send(http.MethodPatch, "/api/opportunities/"+id, `{"data":{"type":"opportunities","id":"1","attributes":{}}}`)
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("id mismatch: %d", resp.StatusCode)
	}
	if resp, _ := h.send(http.MethodDelete, "/api/opportunities/"+id, ""); resp.StatusCode != http.StatusNoContent {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	h.getDoc("/api/opportunities/"+id, http.StatusNotFound)
	if resp, _ := h.send(http.MethodDelete, "/api/opportunities/"+id, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("delete again: %d", resp.StatusCode)
	}
	// The writes are audited with the token's user.
	var rows []map[string]any
	getJSON(t, h, "/api/rest/latest/audits?objectClass=Oro_Bundle_SalesBundle_Entity_Opportunity&objectId="+id, &rows)
	if len(rows) != 3 || rows[2]["action"] != "remove" {
		t.Errorf("audit rows %v", rows)
	}
}

func TestValidationErrorsHavePointers(t *testing.T) {
	h := crmHarness(t)
	resp, d := h.send(http.MethodPost, "/api/opportunities", `{"data":{"type":"opportunities","attributes":{"name":"No account"},"relationships":{"status":{"data":{"type":"opportunitystatuses","id":"lost"}}}}}`)
	if resp.StatusCode != http.StatusBadRequest || firstError(t, d)["detail"] != "Either an account or a customer should be set." {
		t.Errorf("opportunity without account: %d %v", resp.StatusCode, d)
	}
	resp, d = h.send(http.MethodPost, "/api/leads", `{"data":{"type":"leads","attributes":{"name":"x"},"relationships":{"status":{"data":null}}}}`)
	if e := firstError(t, d); resp.StatusCode != http.StatusBadRequest || e["source"].(doc)["pointer"] != "/data/relationships/status/data" {
		t.Errorf("lead with null status: %d %v", resp.StatusCode, d)
	}
	resp, d = h.send(http.MethodPost, "/api/leads", `{"data":{"type":"leads","attributes":{"name":"New Lead"}}}`)
	if resp.StatusCode != http.StatusCreated || d["data"].(doc)["relationships"].(doc)["status"].(doc)["data"].(doc)["id"] != "new" {
		t.Errorf("lead status default: %d %v", resp.StatusCode, d)
	}
	resp, d = h.send(http.MethodPost, "/api/contacts", `{"data":{"type":"contacts","attributes":{"shoeSize":42,"firstName":"x"}}}`)
	if e := firstError(t, d); resp.StatusCode != http.StatusBadRequest || e["source"].(doc)["pointer"] != "/data/attributes" {
		t.Errorf("extra field: %d %v", resp.StatusCode, d)
	}
	resp, _ = h.send(http.MethodPost, "/api/contacts", `{"data":{"type":"accounts","attributes":{"name":"x"}}}`)
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("wrong type: %d", resp.StatusCode)
	}
	resp, _ = h.send(http.MethodPost, "/api/contacts", `not json`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad body: %d", resp.StatusCode)
	}
}

func TestTaskWithTargets(t *testing.T) {
	h := crmHarness(t)
	rc := newReceiver(t)
	_, _ = h.sim.AddWebhook(Webhook{NotificationURL: rc.srv.URL, Topic: "task.deleted", Enabled: true})
	resp, d := h.send(http.MethodPost, "/api/tasks", `{"data":{"type":"tasks","attributes":{"subject":"S","dueDate":"2035-02-16T22:36:37Z"},`+
		`"relationships":{"taskPriority":{"data":{"type":"taskpriorities","id":"normal"}},"activityTargets":{"data":[{"type":"contacts","id":"3"}]}}}}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("%d %v", resp.StatusCode, d)
	}
	id := d["data"].(doc)["id"].(string)
	has := func() bool {
		d, _ := h.getDoc("/api/contacts/3/relationships/activityTasks", http.StatusOK)
		return slices.ContainsFunc(d["data"].([]any), func(x any) bool { return x.(doc)["id"] == id })
	}
	t.Run("is listed by its target", func(t *testing.T) {
		if !has() {
			t.Error("contact 3 does not list the new task")
		}
	})
	t.Run("deleted, leaves its target", func(t *testing.T) {
		h.send(http.MethodDelete, "/api/tasks/"+id, "")
		if has() {
			t.Error("contact 3 still lists the deleted task")
		}
	})
	t.Run("deleted, fires its webhook", func(t *testing.T) {
		idle(t, h.sim)
		if got := rc.deliveries(); len(got) != 1 || got[0].header.Get("Webhook-Topic") != "task.deleted" {
			t.Errorf("deliveries %v", got)
		}
	})
}

func TestSyncBatchPatchWritesAllOrNothing(t *testing.T) {
	h := crmHarness(t)
	body := `{"data":[{"type":"accounts","attributes":{"name":"Batch A"}},{"type":"accounts","id":"1","meta":{"update":true},"attributes":{"name":"Renamed 1"}}]}`
	resp, d := h.send(http.MethodPatch, "/api/accounts", body, "X-Mode", "sync")
	if resp.StatusCode != http.StatusOK || len(d["data"].([]any)) != 2 {
		t.Fatalf("%d %v", resp.StatusCode, d)
	}
	if m := d["data"].([]any)[1].(doc)["meta"].(doc); m["dataId"] != "/data/1" {
		t.Errorf("meta %v", m)
	}
	before := h.sim.Count("accounts")
	bad := `{"data":[{"type":"accounts","attributes":{"name":"ok"}},{"type":"accounts","attributes":{"nope":1}}]}`
	resp, d = h.send(http.MethodPatch, "/api/accounts", bad, "X-Mode", "sync")
	if e := firstError(t, d); resp.StatusCode != http.StatusBadRequest || e["source"].(doc)["pointer"] != "/data/1/attributes" {
		t.Errorf("bad batch: %d %v", resp.StatusCode, d)
	}
	if h.sim.Count("accounts") != before {
		t.Error("a failed batch wrote something")
	}
	if resp, _ := h.send(http.MethodPatch, "/api/accounts", body); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("async batch: %d", resp.StatusCode)
	}
}

func TestUserProfileIsTheTokensUser(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1, Users: map[string]string{"admin": "a", "zed": "z"}, Counts: map[string]int{}})
	_, tok := h.tokenResponse(passwordForm("zed", "z"))
	h.token = tok["access_token"].(string)
	d, _ := h.getDoc("/api/userprofile", http.StatusOK)
	if d["data"].(doc)["type"] != "users" || d["data"].(doc)["id"] != "2" {
		t.Errorf("%v", d)
	}
}

func TestDeleteListNeedsAFilter(t *testing.T) {
	h := crmHarness(t)
	if resp, _ := h.send(http.MethodDelete, "/api/calls", ""); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unfiltered: %d", resp.StatusCode)
	}
	if resp, _ := h.send(http.MethodDelete, "/api/calls?filter[id]=1..3", ""); resp.StatusCode != http.StatusNoContent {
		t.Errorf("filtered: %d", resp.StatusCode)
	}
	if got := h.listIDs("/api/calls?filter[id]=1..4"); !slices.Equal(got, []string{"4"}) {
		t.Errorf("left %v", got)
	}
}

func TestEveryAPIRouteNeedsAToken(t *testing.T) {
	h := crmHarness(t)
	for _, target := range []string{
		"GET /api/accounts", "POST /api/contacts", "PATCH /api/contacts/1", "DELETE /api/contacts/1", "PATCH /api/accounts",
		"GET /api/opportunities/1/account", "GET /api/opportunitystatuses", "GET /api/userprofile", "GET /api/webhooks",
		"GET /api/rest/latest/audits",
	} {
		method, path, _ := strings.Cut(target, " ")
		resp, body := h.do(method, path, strings.NewReader(`{}`), "Content-Type", mediaType)
		if resp.StatusCode != http.StatusUnauthorized || len(body) != 0 {
			t.Errorf("%s: %d %q, want 401 with an empty body", target, resp.StatusCode, body)
		}
	}
	if h.sim.Count("contacts") != 60 {
		t.Error("an unauthenticated write changed data")
	}
}
