package orosim

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestIDFilterForms(t *testing.T) {
	h := newHarness(t, Config{Contacts: 20})
	cases := map[string][]string{
		"filter[id]=5":                         {"5"},
		"filter[id]=7,1,3":                     {"1", "3", "7"},
		"filter[id]=4..6":                      {"4", "5", "6"},
		"filter[id][eq]=4..6":                  {"4", "5", "6"},
		"filter[id][gt]=18":                    {"19", "20"},
		"filter[id][lte]=2":                    {"1", "2"},
		"filter[id][neq]=1,2&filter[id][lt]=5": {"3", "4"},
		"filter[id]=99":                        {},
	}
	for q, want := range cases {
		t.Run(q, func(t *testing.T) {
			if got := h.listIDs("/api/contacts?" + q); !slices.Equal(got, want) {
				t.Errorf("%v, want %v", got, want)
			}
		})
	}
}

func TestRawOperatorSyntaxEqualsBracketSyntax(t *testing.T) {
	h := newHarness(t, Config{Contacts: 40})
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range []string{"3", "9", "17", "30"} {
		h.touch(id, base.Add(time.Duration(i)*time.Hour), nil)
	}
	pairs := [][2]string{
		{"filter[id]>=35", "filter[id][gte]=35"},
		{"filter%5Bid%5D%3E%3D35", "filter[id][gte]=35"},
		{"filter%5Bid%5D%3E=35", "filter%5Bid%5D%5Bgte%5D=35"},
		{"filter[id]>35", "filter[id][gt]=35"},
		{"filter[id]<3", "filter[id][lt]=3"},
		{"filter[id]<=3", "filter[id][lte]=3"},
		{"filter[id]!=3", "filter[id][neq]=3"},
		{"filter[id]<>3", "filter[id][neq]=3"},
		{"filter[updatedAt]>=2030-01-01T01:00:00Z", "filter[updatedAt][gte]=2030-01-01T01:00:00Z"},
		{"filter[updatedAt]>2030-01-01T01", "filter[updatedAt][gt]=2030-01-01T01"},
		{"filter[updatedAt]<2030-01-01T02:00:00Z&sort=-updatedAt", "filter[updatedAt][lt]=2030-01-01T02:00:00Z&sort=-updatedAt"},
		{"filter[lastName]!=Smith", "filter[lastName][neq]=Smith"},
	}
	for _, p := range pairs {
		raw := h.listIDs("/api/contacts?page[size]=-1&" + p[0])
		bracket := h.listIDs("/api/contacts?page[size]=-1&" + p[1])
		if !slices.Equal(raw, bracket) {
			t.Errorf("%s gave %v\n%s gave %v", p[0], raw, p[1], bracket)
		}
		if len(raw) == 0 || len(raw) == 40 {
			t.Errorf("%s matched %d rows: the case does not discriminate", p[0], len(raw))
		}
	}
	// The raw form must not be misread as Go does: key "filter[id]>", value "35".
	if got := h.listIDs("/api/contacts?filter[id]>=35"); !slices.Equal(got, []string{"35", "36", "37", "38", "39", "40"}) {
		t.Errorf("filter[id]>=35: %v", got)
	}
}

func TestRejectRawOperatorsOption(t *testing.T) {
	h := newHarness(t, Config{Contacts: 5, RejectRawOperators: true})
	d, _ := h.getDoc("/api/contacts?filter[id]>=2", http.StatusBadRequest)
	if e := firstError(t, d); e["title"] != "filter constraint" || e["source"].(map[string]any)["parameter"] != "filter[id]" {
		t.Errorf("error %v", e)
	}
	h.getDoc("/api/contacts?filter[id][gte]=2", http.StatusOK)
}

func TestPartialDatePrecisionMatchesWholeDay(t *testing.T) {
	h := newHarness(t, Config{Contacts: 10})
	h.touch("1", time.Date(2030, 5, 1, 0, 0, 0, 0, time.UTC), nil)
	h.touch("2", time.Date(2030, 5, 1, 23, 59, 59, 0, time.UTC), nil)
	h.touch("3", time.Date(2030, 5, 2, 0, 0, 0, 0, time.UTC), nil)
	h.touch("4", time.Date(2030, 4, 30, 23, 59, 59, 0, time.UTC), nil)
	seeded := []string{"5", "6", "7", "8", "9", "10"} // all updated before 2024-06
	cases := map[string][]string{
		"filter[updatedAt]=2030-05-01":                      {"1", "2"},
		"filter[updatedAt]=2030-05":                         {"1", "2", "3"},
		"filter[updatedAt]=2030":                            {"1", "2", "3", "4"},
		"filter[updatedAt]=2030-05-01T23":                   {"2"},
		"filter[updatedAt]=2030-05-01T23:59":                {"2"},
		"filter[updatedAt]=2030-05-01T23:59:59Z":            {"2"},
		"filter[updatedAt]=2030-05-01T23:59:59":             {"2"},
		"filter[updatedAt]=2030-05-02T01:59:59%2B02:00":     {"2"},
		"filter[updatedAt]=2030-05-02T01:59:59+02:00":       {"2"}, // unencoded "+" arrives as a space
		"filter[updatedAt]=2030-05-01T22:00:00-0200":        {"3"},
		"filter[updatedAt]=2030-05-01T23:59:59.000Z":        {"2"},
		"filter[updatedAt]=2030-04-30..2030-05-01":          {"1", "2", "4"},
		"filter[updatedAt][gt]=2030-05-01":                  {"3"},
		"filter[updatedAt][gte]=2030-05-01":                 {"1", "2", "3"},
		"filter[updatedAt][lt]=2030-05-01&filter[id]=1..4":  {"4"},
		"filter[updatedAt][lte]=2030-05-01&filter[id]=1..4": {"1", "2", "4"},
		"filter[updatedAt][neq]=2030-05-01&filter[id]=1..4": {"3", "4"},
		"filter[updatedAt][lt]=2030":                        seeded,
	}
	for q, want := range cases {
		if got := h.listIDs("/api/contacts?page[size]=-1&" + q); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", q, got, want)
		}
	}
}

func TestSameFieldWithTwoOperatorsIsAnded(t *testing.T) {
	h := newHarness(t, Config{Contacts: 10})
	for i, id := range []string{"2", "4", "6", "8"} {
		h.touch(id, time.Date(2031, 1, 1, 10, 0, i, 0, time.UTC), nil)
	}
	got := h.listIDs("/api/contacts?filter[updatedAt][gte]=2031-01-01T10:00:01Z&filter[updatedAt][lt]=2031-01-01T10:00:03Z")
	if !slices.Equal(got, []string{"4", "6"}) {
		t.Errorf("got %v, want [4 6]", got)
	}
}

func TestContactPointFilters(t *testing.T) {
	h := newHarness(t, Config{Contacts: 10})
	h.touch("7", h.clock.Now(), map[string]any{
		"emails":       []string{"first@orosim.test", "second@orosim.test"},
		"primaryEmail": "second@orosim.test",
		"phones":       []map[string]any{{"phone": "5556661111"}},
		"primaryPhone": "5556661111",
	})
	cases := map[string][]string{
		"filter[emails]=first@orosim.test":                     {"7"},
		"filter[emails]=nobody@orosim.test,second@orosim.test": {"7"},
		"filter[primaryEmail]=first@orosim.test":               {},
		"filter[primaryEmail]=second@orosim.test":              {"7"},
		"filter[phones]=5556661111":                            {"7"},
		"filter[primaryPhone]=5556661111":                      {"7"},
	}
	for q, want := range cases {
		t.Run(q, func(t *testing.T) {
			if got := h.listIDs("/api/contacts?" + q); !slices.Equal(got, want) {
				t.Errorf("%v, want %v", got, want)
			}
		})
	}
}

func TestStringFilterMatchesTheWholeValueExactly(t *testing.T) {
	h := newHarness(t, Config{Contacts: 10})
	h.touch("2", h.clock.Now(), map[string]any{"firstName": "Anna, Maria", "lastName": "Łódź"})
	cases := map[string][]string{
		"filter[firstName]=Anna,%20Maria":      {"2"},
		"filter[firstName]=Anna":               {},
		"filter[firstName]=anna,%20maria":      {},
		"filter[lastName]=%C5%81%C3%B3d%C5%BA": {"2"},
	}
	for q, want := range cases {
		t.Run(q, func(t *testing.T) {
			if got := h.listIDs("/api/contacts?" + q); !slices.Equal(got, want) {
				t.Errorf("%v, want %v", got, want)
			}
		})
	}
}

func TestFilterByRelationship(t *testing.T) {
	h := newHarness(t, Config{Contacts: 10})
	h.touch("3", h.clock.Now(), map[string]any{
		"accounts": []map[string]any{{"type": "accounts", "id": "9001"}, {"type": "accounts", "id": "9002"}},
		"owner":    map[string]any{"type": "users", "id": "77"},
	})
	cases := map[string][]string{
		"filter[accounts]=9002":                 {"3"},
		"filter[accounts]=1,9001":               nil, // computed below: 3 plus seeded contacts of account 1
		"filter[owner]=77":                      {"3"},
		"filter[owner][neq]=77&filter[id]=1..3": {"1", "2"},
	}
	for q, want := range cases {
		got := h.listIDs("/api/contacts?page[size]=-1&" + q)
		if want == nil {
			if !slices.Contains(got, "3") {
				t.Errorf("%s: %v does not contain 3", q, got)
			}
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", q, got, want)
		}
	}
}

func TestNullsInFilters(t *testing.T) {
	h := newHarness(t, Config{Contacts: 40})
	all := h.listIDs("/api/contacts?page[size]=-1")
	noLast := h.listIDs("/api/contacts?page[size]=-1&filter[lastName][exists]=no")
	withLast := h.listIDs("/api/contacts?page[size]=-1&filter[lastName][exists]=true")
	t.Run("exists splits the rows", func(t *testing.T) {
		if len(noLast) == 0 || len(noLast)+len(withLast) != len(all) {
			t.Fatalf("exists: %d without + %d with != %d", len(noLast), len(withLast), len(all))
		}
	})
	t.Run("neq skips them", func(t *testing.T) {
		neq := h.listIDs("/api/contacts?page[size]=-1&filter[lastName][neq]=nobody")
		if !slices.Equal(neq, withLast) {
			t.Errorf("neq returned NULL rows: %v vs %v", neq, withLast)
		}
	})
	t.Run("neq_or_null keeps them", func(t *testing.T) {
		neqOrNull := h.listIDs("/api/contacts?page[size]=-1&filter[lastName][neq_or_null]=nobody")
		if !slices.Equal(neqOrNull, all) {
			t.Errorf("neq_or_null: %d rows, want %d", len(neqOrNull), len(all))
		}
	})
}

func TestParseQueryReadsBothOperatorForms(t *testing.T) {
	cases := map[string]queryParam{
		"filter[updatedAt]>=2024-05-01": {Group: "filter", Path: []string{"updatedAt"}, Op: "gte", Value: "2024-05-01", RawOp: true},
		"filter%5BupdatedAt%5D%3E2024":  {Group: "filter", Path: []string{"updatedAt"}, Op: "gt", Value: "2024", RawOp: true},
		"filter[updatedAt][gte]=2024":   {Group: "filter", Path: []string{"updatedAt"}, Op: "gte", Value: "2024"},
		"filter[name]=<b>":              {Group: "filter", Path: []string{"name"}, Op: "eq", Value: "<b>"},
		"filter[name]<><b>":             {Group: "filter", Path: []string{"name"}, Op: "neq", Value: "<b>", RawOp: true},
		"filter[id][gt]>=5":             {Group: "filter", Path: []string{"id"}, Op: "gt", Value: "5"},
		"page[number]=2":                {Group: "page", Path: []string{"number"}, Op: "eq", Value: "2"},
		"sort=-updatedAt,id":            {Group: "sort", Op: "eq", Value: "-updatedAt,id"},
		"filter[a.b]=x+y%2Bz":           {Group: "filter", Path: []string{"a.b"}, Op: "eq", Value: "x y+z"},
	}
	for raw, want := range cases {
		got := parseQuery(raw)
		if len(got) != 1 {
			t.Errorf("%s: %d params", raw, len(got))
			continue
		}
		g := got[0]
		if g.Group != want.Group || !slices.Equal(g.Path, want.Path) || g.Op != want.Op || g.Value != want.Value || g.RawOp != want.RawOp {
			t.Errorf("%s: %+v, want %+v", raw, g, want)
		}
	}
	// The same key and operator twice: Oro parses the sorted query string,
	// so the value that sorts last wins, whatever the order in the request.
	for _, raw := range []string{"filter[id]=1&filter[id]=2", "filter[id]=2&filter[id]=1"} {
		if got := parseQuery(raw); len(got) != 1 || got[0].Value != "2" {
			t.Errorf("%s: %+v", raw, got)
		}
	}
}

func TestNormalizeQueryMatchesOro(t *testing.T) {
	// Cases from Oro's RequestQueryStringNormalizerTest.
	cases := map[string]string{
		"foo":                                "foo",
		"foo=":                               "foo=",
		"foo=bar&bar=":                       "bar=&foo=bar",
		"him=John%20Doe&her=Jane+Doe":        "her=Jane%20Doe&him=John%20Doe",
		"foo[]=1&foo[]=2":                    "foo%5B%5D=1&foo%5B%5D=2",
		"foo=1&foo=2":                        "foo=1&foo=2",
		"pa%3Dram=foo%26bar%3Dbaz&test=test": "pa%3Dram=foo%26bar%3Dbaz&test=test",
		"0":                                  "0",
		"Jane Doe&John%20Doe":                "Jane%20Doe&John%20Doe",
		"foo=bar&&&test&&":                   "foo=bar&test",
		"formula=e=m*c^2":                    "formula=e%3Dm%2Ac%5E2",
		"foo=bar&=a=b&=x=y":                  "foo=bar",
		"":                                   "",
	}
	for in, want := range cases {
		if got := joinPairs(normalizeQuery(in)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestParseDateTimePrecision(t *testing.T) {
	utc := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMicro()
	}
	cases := map[string][2]string{
		"2024":                      {"2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"},
		"2024-02":                   {"2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		"2024-02-29":                {"2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"},
		"2024-05-01T10":             {"2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z"},
		"2024-05-01T10:30":          {"2024-05-01T10:30:00Z", "2024-05-01T10:31:00Z"},
		"2024-05-01T10:30:15Z":      {"2024-05-01T10:30:15Z", "2024-05-01T10:30:16Z"},
		"2024-05-01T10:30:15+02:00": {"2024-05-01T08:30:15Z", "2024-05-01T08:30:16Z"},
		"2024-05-01T10:30:15.5Z":    {"2024-05-01T10:30:15.5Z", "2024-05-01T10:30:15.500001Z"},
	}
	for in, want := range cases {
		iv, ok := parseDateTime(in)
		if !ok || iv.lo != utc(want[0]) || iv.hi != utc(want[1]) {
			t.Errorf("%s: %+v ok=%v, want [%s, %s)", in, iv, ok, want[0], want[1])
		}
	}
	for _, bad := range []string{"", "24", "2024-13", "2023-02-29", "2024-05-01T24", "2024-05-01 10:00", "2024-05-01T10:00:00+25:00", "now"} {
		if _, ok := parseDateTime(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
