package orosim

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestDefaultListIsTenContactsOrderedByID(t *testing.T) {
	h := newHarness(t, Config{Contacts: 25})
	d, resp := h.getDoc("/api/contacts", http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != mediaType {
		t.Errorf("Content-Type %q", ct)
	}
	want := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}
	if got := ids(d); !slices.Equal(got, want) {
		t.Errorf("ids %v, want %v", got, want)
	}
	// ids compare numerically: page 2 is 11..20, not "11","12",...,"19","2".
	if got := h.listIDs("/api/contacts?page[number]=2"); got[0] != "11" || got[9] != "20" {
		t.Errorf("page 2 ids %v", got)
	}
}

func TestNextLinkOnlyWhenMoreRowsExist(t *testing.T) {
	h := newHarness(t, Config{Contacts: 25})
	links := func(path string) map[string]any {
		d, _ := h.getDoc(path, http.StatusOK)
		return d["links"].(map[string]any)
	}
	base := h.srv.URL + "/api/contacts"

	p1 := links("/api/contacts?page[size]=10")
	if p1["self"] != base || p1["next"] != base+"?page%5Bnumber%5D=2&page%5Bsize%5D=10" {
		t.Errorf("page 1 links %v", p1)
	}
	if _, ok := p1["first"]; ok {
		t.Errorf("page 1 has first: %v", p1)
	}
	if _, ok := p1["prev"]; ok {
		t.Errorf("page 1 has prev: %v", p1)
	}

	p2 := links("/api/contacts?page[size]=10&page[number]=2")
	if p2["first"] != base+"?page%5Bsize%5D=10" || p2["prev"] != base+"?page%5Bsize%5D=10" ||
		p2["next"] != base+"?page%5Bnumber%5D=3&page%5Bsize%5D=10" {
		t.Errorf("page 2 links %v", p2)
	}

	p3 := links("/api/contacts?page[size]=10&page[number]=3")
	if _, ok := p3["next"]; ok {
		t.Errorf("last page has next: %v", p3)
	}
	if p3["prev"] != base+"?page%5Bnumber%5D=2&page%5Bsize%5D=10" {
		t.Errorf("page 3 prev %v", p3["prev"])
	}

	// Exactly full last page: 20 rows, 2 pages of 10 -> page 2 has no next.
	h.sim.DeleteContact("25")
	for id := 21; id <= 24; id++ {
		h.sim.DeleteContact(strconv.Itoa(id))
	}
	if _, ok := links("/api/contacts?page[number]=2")["next"]; ok {
		t.Error("page 2 of exactly 20 rows has next")
	}
	if _, ok := links("/api/contacts?page[size]=-1")["next"]; ok {
		t.Error("unlimited page has next")
	}
}

func TestNextLink(t *testing.T) {
	h := newHarness(t, Config{Contacts: 30})
	t.Run("keeps the other parameters, sorted and encoded", func(t *testing.T) {
		d, _ := h.getDoc("/api/contacts?sort=-id&fields[contacts]=firstName&page[size]=5&page[number]=3&filter[id][gte]=2", http.StatusOK)
		next := d["links"].(map[string]any)["next"]
		want := h.srv.URL + "/api/contacts?fields%5Bcontacts%5D=firstName&filter%5Bid%5D%5Bgte%5D=2&page%5Bnumber%5D=4&page%5Bsize%5D=5&sort=-id"
		if next != want {
			t.Errorf("next %v\nwant %v", next, want)
		}
	})
	t.Run("followed, visits every matching row once", func(t *testing.T) {
		var seen []string
		url := "/api/contacts?filter[updatedAt][gte]=2000-01-01&sort=updatedAt,id&page[size]=7"
		for url != "" {
			d, _ := h.getDoc(url, http.StatusOK)
			seen = append(seen, ids(d)...)
			n, _ := d["links"].(map[string]any)["next"].(string)
			url = strings.TrimPrefix(n, h.srv.URL)
		}
		if len(seen) != 30 || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 30 {
			t.Errorf("walked %d ids (%v), want all 30 once", len(seen), seen)
		}
	})
}

func TestEachResourceHasSelfLink(t *testing.T) {
	h := newHarness(t, Config{Contacts: 3})
	d, _ := h.getDoc("/api/contacts", http.StatusOK)
	for _, r := range d["data"].([]any) {
		res := r.(map[string]any)
		want := h.srv.URL + "/api/contacts/" + res["id"].(string)
		if got := res["links"].(map[string]any)["self"]; got != want {
			t.Errorf("self %v, want %v", got, want)
		}
	}
}

func TestNoHateoasStripsLinks(t *testing.T) {
	h := newHarness(t, Config{Contacts: 15})
	for _, path := range []string{"/api/contacts", "/api/contacts/1"} {
		_, body := h.get(path, "X-Include", "totalCount;noHateoas")
		if strings.Contains(string(body), `"links"`) {
			t.Errorf("%s: links present with noHateoas: %.200s", path, body)
		}
	}
}

func TestTotalCountHeader(t *testing.T) {
	h := newHarness(t, Config{Contacts: 23})
	_, resp := h.getDoc("/api/contacts?filter[id]=3..12&page[size]=2", http.StatusOK, "X-Include", "totalCount")
	if got := resp.Header.Get("X-Include-Total-Count"); got != "10" {
		t.Errorf("X-Include-Total-Count %q, want 10", got)
	}
	_, resp = h.getDoc("/api/contacts", http.StatusOK)
	if got := resp.Header.Get("X-Include-Total-Count"); got != "" {
		t.Errorf("total count without asking: %q", got)
	}
}

func TestUnlimitedPageSizeReturnsAll(t *testing.T) {
	h := newHarness(t, Config{Contacts: 57})
	if got := h.listIDs("/api/contacts?page[size]=-1&page[number]=3"); len(got) != 57 {
		t.Errorf("got %d contacts, want 57", len(got))
	}
}

func TestMaxEntities(t *testing.T) {
	h := newHarness(t, Config{Contacts: 40, MaxEntities: 25})
	t.Run("refuses a larger page", func(t *testing.T) {
		d, _ := h.getDoc("/api/contacts?page[size]=26", http.StatusBadRequest)
		e := firstError(t, d)
		if e["status"] != "400" || e["title"] != "filter constraint" ||
			e["detail"] != "The value should be less than or equals to 25." ||
			e["source"].(map[string]any)["parameter"] != "page[size]" {
			t.Errorf("error %v", e)
		}
	})
	t.Run("serves a page of that size", func(t *testing.T) {
		if got := h.listIDs("/api/contacts?page[size]=25"); len(got) != 25 {
			t.Errorf("page[size]=25: %d rows", len(got))
		}
	})
	t.Run("caps an unlimited page", func(t *testing.T) {
		got := h.listIDs("/api/contacts?page[size]=-1")
		if len(got) != 25 || got[0] != "1" || got[24] != "25" {
			t.Errorf("page[size]=-1 with max 25: %d rows %v", len(got), got)
		}
	})
	t.Run("at -1 (Oro's default) leaves pages unlimited", func(t *testing.T) {
		h2 := newHarness(t, Config{Contacts: 40, MaxEntities: -1})
		if got := h2.listIDs("/api/contacts?page[size]=-1"); len(got) != 40 {
			t.Errorf("MaxEntities -1: %d rows", len(got))
		}
	})
}

func TestSparseFieldsetIDOnly(t *testing.T) {
	h := newHarness(t, Config{Contacts: 4})
	d, _ := h.getDoc("/api/contacts?fields[contacts]=id", http.StatusOK, "X-Include", "noHateoas")
	for _, r := range d["data"].([]any) {
		res := r.(map[string]any)
		if len(res) != 2 || res["type"] != "contacts" || res["id"] == "" {
			t.Errorf("resource %v, want only type and id", res)
		}
	}
	d, _ = h.getDoc("/api/contacts/2?fields[contacts]=firstName,emails,owner", http.StatusOK, "X-Include", "noHateoas")
	data := d["data"].(map[string]any)
	a := data["attributes"].(map[string]any)
	rels := data["relationships"].(map[string]any)
	if len(a) != 2 || len(rels) != 1 || rels["owner"] == nil {
		t.Errorf("sparse resource %v", data)
	}
	if _, ok := a["emails"].([]any); !ok {
		t.Errorf("emails %v", a["emails"])
	}
}

func TestSortByUpdatedAtHasTiesBrokenByID(t *testing.T) {
	h := newHarness(t, Config{Contacts: 200})
	d, _ := h.getDoc("/api/contacts?sort=updatedAt,id&page[size]=-1&fields[contacts]=updatedAt", http.StatusOK, "X-Include", "noHateoas")
	data := d["data"].([]any)
	ties := 0
	for i := 1; i < len(data); i++ {
		pu, cu := attrs(data[i-1])["updatedAt"].(string), attrs(data[i])["updatedAt"].(string)
		pid, _ := strconv.Atoi(data[i-1].(map[string]any)["id"].(string))
		cid, _ := strconv.Atoi(data[i].(map[string]any)["id"].(string))
		if pu > cu || pu == cu && pid >= cid {
			t.Fatalf("out of order at %d: (%s,%d) before (%s,%d)", i, pu, pid, cu, cid)
		}
		if pu == cu {
			ties++
		}
	}
	if ties < 20 {
		t.Errorf("only %d updatedAt ties in 200 seeded contacts; keyset paging needs many", ties)
	}
	desc := h.listIDs("/api/contacts?sort=-id&page[size]=3")
	if !slices.Equal(desc, []string{"200", "199", "198"}) {
		t.Errorf("sort=-id: %v", desc)
	}
}

func TestSortByNullableFieldPutsNullsLastAscending(t *testing.T) {
	// PostgreSQL, Oro's database, sorts NULLs last ascending, first descending.
	h := newHarness(t, Config{Contacts: 60})
	nullFlags := func(sort string) []bool {
		d, _ := h.getDoc("/api/contacts?page[size]=-1&fields[contacts]=lastName&sort="+sort, http.StatusOK, "X-Include", "noHateoas")
		var flags []bool
		for _, r := range d["data"].([]any) {
			flags = append(flags, attrs(r)["lastName"] == nil)
		}
		if !slices.Contains(flags, true) {
			t.Fatalf("sort=%s: seed has no contact without lastName", sort)
		}
		return flags
	}
	if asc := nullFlags("lastName"); !slices.IsSortedFunc(asc, cmpBool) {
		t.Errorf("sort=lastName: NULLs not last: %v", asc)
	}
	desc := nullFlags("-lastName")
	slices.Reverse(desc)
	if !slices.IsSortedFunc(desc, cmpBool) {
		t.Errorf("sort=-lastName: NULLs not first")
	}
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

func TestUnsupportedSortIs400WithOroTitle(t *testing.T) {
	h := newHarness(t, Config{Contacts: 3})
	d, _ := h.getDoc("/api/contacts?sort=-jobTitle", http.StatusBadRequest)
	e := firstError(t, d)
	want := map[string]any{"status": "400", "title": "sort constraint", "detail": `Sorting by "jobTitle" field is not supported.`}
	for k, v := range want {
		if e[k] != v {
			t.Errorf("%s = %v, want %v", k, e[k], v)
		}
	}
	if e["source"].(map[string]any)["parameter"] != "sort" {
		t.Errorf("source %v", e["source"])
	}
	for _, ok := range []string{"id", "-updatedAt", "createdAt", "firstName", "lastName", "emails", "-phones", "updatedAt,id"} {
		h.getDoc("/api/contacts?sort="+ok, http.StatusOK)
	}
}

func TestUnknownFilterIs400WithParameter(t *testing.T) {
	h := newHarness(t, Config{Contacts: 3})
	cases := map[string]string{
		"/api/contacts?filter[wrongFieldName]=1":   "filter[wrongFieldName]",
		"/api/contacts?filter[createdAt][gt]=2020": "filter[createdAt][gt]", // createdAt is not indexed on contacts
		"/api/contacts?filter[id][foo]=1":          "filter[id][foo]",
		"/api/contacts?page[limit]=1":              "page[limit]",
		"/api/contacts?foo=bar":                    "foo",
		"/api/contacts/1?filter[id]=1":             "filter[id]",
	}
	for path, param := range cases {
		d, _ := h.getDoc(path, http.StatusBadRequest)
		e := firstError(t, d)
		if e["title"] != "filter constraint" || e["detail"] != "The filter is not supported." ||
			e["source"].(map[string]any)["parameter"] != param {
			t.Errorf("%s: error %v", path, e)
		}
	}
}

func TestUnsupportedOperatorIs400(t *testing.T) {
	h := newHarness(t, Config{Contacts: 3})
	// String filters only have = != * !* (StringComparisonFilter).
	d, _ := h.getDoc("/api/contacts?filter[firstName][gt]=A", http.StatusBadRequest)
	e := firstError(t, d)
	if e["detail"] != `The operator "gt" is not supported.` || e["source"].(map[string]any)["parameter"] != "filter[firstName][gt]" {
		t.Errorf("error %v", e)
	}
	d, _ = h.getDoc("/api/contacts?filter[id][contains]=1", http.StatusBadRequest)
	if e := firstError(t, d); e["detail"] != `The operator "contains" is not supported.` {
		t.Errorf("error %v", e)
	}
}

func TestInvalidFilterValueIs400(t *testing.T) {
	h := newHarness(t, Config{Contacts: 3})
	cases := map[string]string{
		"/api/contacts?filter[id]=aaa":               `Expected integer value. Given "aaa".`,
		"/api/contacts?filter[id]=1,x":               `Expected an array of integers. Given "1,x".`,
		"/api/contacts?filter[updatedAt]=yesterday":  `Expected datetime value. Given "yesterday".`,
		"/api/contacts?filter[updatedAt]=2024-02-30": `Expected datetime value. Given "2024-02-30".`,
		"/api/contacts?page[size]=ten":               `Expected integer value. Given "ten".`,
	}
	for path, detail := range cases {
		d, _ := h.getDoc(path, http.StatusBadRequest)
		if e := firstError(t, d); e["detail"] != detail || e["title"] != "unexpected value exception" {
			t.Errorf("%s: error %v, want detail %s", path, e, detail)
		}
	}
}

func TestAllErrorsOfARequestAreReported(t *testing.T) {
	h := newHarness(t, Config{Contacts: 3})
	d, _ := h.getDoc("/api/contacts?sort=nope&filter[nope]=1", http.StatusBadRequest)
	if n := len(d["errors"].([]any)); n != 2 {
		t.Errorf("%d errors, want 2: %v", n, d)
	}
}

func TestGetContactNotFoundIs404OroError(t *testing.T) {
	h := newHarness(t, Config{Contacts: 3})
	_, body := h.get("/api/contacts/4")
	want := `{"errors":[{"status":"404","title":"not found http exception","detail":"An entity with the requested identifier does not exist."}]}`
	if string(body) != want {
		t.Errorf("body %s\nwant %s", body, want)
	}
	h.getDoc("/api/contacts/4", http.StatusNotFound)
	d, _ := h.getDoc("/api/contacts/abc", http.StatusBadRequest)
	if e := firstError(t, d); e["title"] != "entity identifier constraint" {
		t.Errorf("non-numeric id: %v", e)
	}
}

func TestUnknownTypeIs404(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	for _, path := range []string{"/api/nope", "/api/nope/1", "/api/", "/api/contacts/1/shoes", "/api/contacts/1/relationships/shoes", "/api/contacts/1/owner/extra/x"} {
		d, _ := h.getDoc(path, http.StatusNotFound)
		if e := firstError(t, d); e["status"] != "404" {
			t.Errorf("%s: %v", path, e)
		}
	}
}

func TestWrongMethodIs405WithAllow(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	for _, target := range []string{"PUT /api/contacts/1", "POST /api/contacts/1", "PUT /api/contacts",
		"POST /api/contacts/1/relationships/accounts", "DELETE /api/contactsources/tv"} {
		method, path, _ := strings.Cut(target, " ")
		resp, body := h.do(method, path, nil, "Authorization", "Bearer "+h.token)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
			t.Errorf("%s: status %d Allow %q body %s", method, resp.StatusCode, resp.Header.Get("Allow"), body)
		}
	}
	resp, _ := h.do(http.MethodOptions, "/api/contacts", nil, "Authorization", "Bearer "+h.token)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Allow"), "GET") {
		t.Errorf("OPTIONS: %d %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestBasePathIsConfigurable(t *testing.T) {
	h := newHarness(t, Config{Contacts: 2, BasePath: "/admin/api/"})
	d, _ := h.getDoc("/admin/api/contacts", http.StatusOK)
	if got := d["links"].(map[string]any)["self"]; got != h.srv.URL+"/admin/api/contacts" {
		t.Errorf("self %v", got)
	}
	h.getDoc("/api/contacts", http.StatusNotFound)
}

func TestContactResourceShape(t *testing.T) {
	h := newHarness(t, Config{Contacts: 30})
	for i := 1; i <= 30; i++ {
		d, _ := h.getDoc(fmt.Sprintf("/api/contacts/%d", i), http.StatusOK, "X-Include", "noHateoas")
		data := d["data"].(map[string]any)
		a := attrs(data)
		for _, k := range []string{"createdAt", "updatedAt"} {
			s, _ := a[k].(string)
			if len(s) != len(oroDateTime) || !strings.HasSuffix(s, "Z") {
				t.Errorf("contact %d %s = %v", i, k, a[k])
			}
		}
		if a["createdAt"].(string) > a["updatedAt"].(string) {
			t.Errorf("contact %d created after update", i)
		}
		for _, e := range a["emails"].([]any) {
			if _, ok := e.(map[string]any)["email"].(string); !ok {
				t.Errorf("contact %d email item %v", i, e)
			}
		}
		rels := data["relationships"].(map[string]any)
		for _, name := range []string{"owner", "organization", "accounts", "defaultInAccounts", "addresses", "activityTasks"} {
			if _, ok := rels[name].(map[string]any)["data"]; !ok {
				t.Errorf("contact %d relationship %s has no data", i, name)
			}
		}
		if _, ok := rels["accounts"].(map[string]any)["data"].([]any); !ok {
			t.Errorf("contact %d accounts.data is not an array", i)
		}
	}
}

func TestSmallPagesOfABigSortAgreeWithTheFullSort(t *testing.T) {
	h := newHarness(t, Config{Contacts: 600})
	for _, sort := range []string{"updatedAt", "-updatedAt", "updatedAt,-id", "lastName,-updatedAt", "-firstName", "emails", "-createdAt,lastName"} {
		all := h.listIDs("/api/contacts?page[size]=-1&sort=" + sort)
		for _, page := range []int{1, 2, 7, 13} {
			got := h.listIDs(fmt.Sprintf("/api/contacts?page[size]=5&page[number]=%d&sort=%s", page, sort))
			if want := all[(page-1)*5 : page*5]; !slices.Equal(got, want) {
				t.Errorf("sort=%s page %d: %v, want %v", sort, page, got, want)
			}
		}
	}
}

func TestSmallestMatchesSorting(t *testing.T) {
	vals := []int{5, 3, 9, 3, 1, 8, 8, 0, 7, 3, 2, 6}
	cmp := func(a, b int) int {
		if vals[a] != vals[b] {
			return vals[a] - vals[b]
		}
		return a - b
	}
	full := make([]int, len(vals))
	for i := range full {
		full[i] = i
	}
	slices.SortFunc(full, cmp)
	for k := 0; k <= len(vals); k++ {
		if got := smallest(len(vals), k, cmp); !slices.Equal(got, full[:k]) && !(k == 0 && len(got) == 0) {
			t.Errorf("k=%d: %v, want %v", k, got, full[:k])
		}
	}
}
