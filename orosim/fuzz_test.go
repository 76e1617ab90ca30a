package orosim

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// FuzzParseFilters feeds arbitrary query strings to the query parser and the
// contacts validator. Besides not panicking, the parser must read a query and
// its normalized form (what HATEOAS links contain) the same way, so following
// a link never changes the request.
func FuzzParseFilters(f *testing.F) {
	for _, seed := range []string{
		"filter[updatedAt][gte]=2024-05-01T10:00:00Z&sort=updatedAt,id&page[size]=100",
		"filter[updatedAt]>=2024-05-01&filter[id]=1,2,3",
		"filter%5Bid%5D%3E%3D5&page%5Bnumber%5D=2",
		"filter[id]=5..7&fields[contacts]=id",
		"filter[firstName]=Zo%C3%AB&filter[lastName][neq]=M%C3%BCller",
		"filter[updatedAt]=2024-05-01T10:00:00+02:00",
		"filter[emails]=a@x.test,b@x.test&filter[primaryEmail]=a@x.test",
		"filter[lastName][exists]=no&filter[owner][neq_or_null]=1",
		"sort=-foo&filter[nope]=1&page[size]=0",
		"page[size]=-1&page[number]=99999999999",
		"formula=e=m*c^2&=x&&foo",
		"filter[name]<><b>%zz+%2",
	} {
		f.Add(seed)
	}
	def := contactsType()
	rec := seedContacts(1, 1, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))[0]
	f.Fuzz(func(t *testing.T, raw string) {
		params := parseQuery(raw)
		normalized := joinPairs(normalizeQuery(raw))
		if again := joinPairs(normalizeQuery(normalized)); again != normalized {
			t.Fatalf("normalization not idempotent: %q -> %q -> %q", raw, normalized, again)
		}
		if reparsed := parseQuery(normalized); !reflect.DeepEqual(params, reparsed) {
			t.Fatalf("%q and its normalized form %q parse differently:\n%+v\n%+v", raw, normalized, params, reparsed)
		}
		for _, maxEntities := range []int{0, 50} {
			q, errs := parseRequest(def, params, parseOptions{list: true, maxEntities: maxEntities})
			if len(errs) > 0 {
				for _, e := range errs {
					if e.Status != "400" || e.Title == "" || e.Detail == "" {
						t.Fatalf("malformed error %+v", e)
					}
				}
				continue
			}
			if q.offset < 0 || q.limit == 0 || q.limit < -1 || maxEntities > 0 && (q.limit < 0 || q.limit > maxEntities) {
				t.Fatalf("paging offset %d limit %d for %q", q.offset, q.limit, raw)
			}
			if len(q.sort) == 0 {
				t.Fatalf("no sort for %q", raw)
			}
			_ = q.matches(rec) // must not panic
		}
	})
}

// FuzzAppendString checks the hand-written JSON string encoder against
// encoding/json: both must decode to the same string.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "Zoë Łukasz 王芳", "a\"b\\c\n\t\x01", "\xff\xfe", "\u2028<&>", "https://x/?a=1&b=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", s, appendString(nil, s), err)
		}
		std, _ := json.Marshal(s)
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%q: decodes to %q, encoding/json gives %q", s, got, want)
		}
	})
}
