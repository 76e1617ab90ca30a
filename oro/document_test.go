package oro

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const contactFixture = "../testdata/oro-fixtures/oroinc/crm/src/Oro/Bundle/ContactBundle/Tests/Functional/Api/RestJsonApi/responses/get_contact.yml"

func TestParseDocumentNamesTheBrokenField(t *testing.T) {
	res := func(extra string) string { return `{"type":"contacts","id":"1"` + extra + `}` }
	four := `{"data":[` + res("") + `,` + res("") + `,` + res("") + `,{"type":"contacts"}]}`
	for _, tc := range []struct {
		name, doc, path, reason string
	}{
		{"missing id in the fourth resource", four, "data[3].id", "missing"},
		{"not JSON", `{"data":`, "", "invalid JSON"},
		{"empty input", ``, "", "invalid JSON"},
		{"trailing garbage", `{"data":null} x`, "", "invalid JSON"},
		{"top level array", `[1,2]`, "document", "must be a JSON object, got array"},
		{"no data", `{"meta":{}}`, "data", "missing"},
		{"error document", `{"errors":[{"status":"404"}]}`, "errors", "error document"},
		{"data is a string", `{"data":"x"}`, "data", "got string"},
		{"resource is a number", `{"data":[1]}`, "data[0]", "must be an object, got number"},
		{"numeric id", `{"data":{"type":"contacts","id":1}}`, "data.id", "must be a string, got number"},
		{"empty type", `{"data":{"type":"","id":"1"}}`, "data.type", "must not be empty"},
		{"attributes array", `{"data":` + res(`,"attributes":[]`) + `}`, "data.attributes", "must be an object, got array"},
		{"attributes null", `{"data":` + res(`,"attributes":null`) + `}`, "data.attributes", "got null"},
		{"relationships string", `{"data":` + res(`,"relationships":"x"`) + `}`, "data.relationships", "got string"},
		{"relationship not an object", `{"data":` + res(`,"relationships":{"owner":[]}`) + `}`, "data.relationships.owner", "got array"},
		{"relationship data string", `{"data":` + res(`,"relationships":{"owner":{"data":"1"}}`) + `}`,
			"data.relationships.owner.data", "must be an object, an array or null, got string"},
		{"identifier without type", `{"data":` + res(`,"relationships":{"owner":{"data":{"id":"1"}}}`) + `}`,
			"data.relationships.owner.data.type", "missing"},
		{"to-many identifier with numeric id", `{"data":` + res(`,"relationships":{"accounts":{"data":[{"type":"accounts","id":"1"},{"type":"accounts","id":2}]}}`) + `}`,
			"data.relationships.accounts.data[1].id", "must be a string, got number"},
		{"included not an array", `{"data":[],"included":{}}`, "included", "must be an array, got object"},
		{"included resource without type", `{"data":[],"included":[{"id":"1"}]}`, "included[0].type", "missing"},
		{"links array", `{"data":[],"links":[]}`, "links", "must be an object"},
		{"link number", `{"data":[],"links":{"next":5}}`, "links.next", "must be a string or a link object"},
		{"link object without href", `{"data":[],"links":{"next":{"meta":{}}}}`, "links.next.href", "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDocument([]byte(tc.doc))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T); want *ParseError", err, err)
			}
			if pe.Path != tc.path || !strings.Contains(pe.Reason, tc.reason) {
				t.Fatalf("err = %q; want path %q and reason containing %q", err, tc.path, tc.reason)
			}
			if tc.path != "" && !strings.HasPrefix(err.Error(), tc.path+": ") {
				t.Fatalf("message %q does not start with the path", err)
			}
		})
	}
	if _, err := ParseDocument([]byte(four)); err == nil || err.Error() != "data[3].id: missing" {
		t.Fatalf("err = %v; want exactly %q", err, "data[3].id: missing")
	}
}

func TestParseDocumentOfAnOroList(t *testing.T) {
	doc := `{"jsonapi":{"version":"1.0"},"meta":{"n":1},"links":{"self":"http://x/api/contacts","prev":null,"next":{"href":"http://x/api/contacts?page%5Bnumber%5D=2","meta":{}}},
	"data":[ {"type":"contacts", "id":"7", "meta":{"title":"Bob"}, "links":{"self":"http://x/api/contacts/7"},
	          "attributes":{"firstName":"Bob","updatedAt":"2024-05-01T10:00:00Z","emails":[{"email":"b@example.com"}]},
	          "relationships":{"owner":{"data":{"type":"users","id":"1","meta":{}},"links":{"self":"s","related":"r"}},
	                           "accounts":{"data":[{"type":"accounts","id":"2"},{"type":"accounts","id":"3"}]},
	                           "picture":{"data":null},"groups":{"data":[]},"activityNotes":{"links":{"related":"r"}}}} ],
	"included":[{"type":"accounts","id":"2"}]}`
	d, err := ParseDocument([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if d.Single || len(d.Data) != 1 || len(d.Included) != 1 {
		t.Fatalf("doc = %+v", d)
	}
	t.Run("reads the links", func(t *testing.T) {
		want := map[string]string{"self": "http://x/api/contacts", "next": "http://x/api/contacts?page%5Bnumber%5D=2"}
		if !reflect.DeepEqual(d.Links, want) {
			t.Errorf("Links = %v; want %v", d.Links, want)
		}
	})
	r := d.Data[0]
	t.Run("keeps the resource bytes as sent", func(t *testing.T) {
		start := strings.Index(doc, `{"type":"contacts", "id":"7"`)
		end := strings.Index(doc, `}}}} ]`) + len(`}}}}`)
		if string(r.Raw) != doc[start:end] {
			t.Errorf("Raw is not the bytes as sent:\n%s\nwant\n%s", r.Raw, doc[start:end])
		}
	})
	rels := r.Relationships
	t.Run("reads every relationship form", func(t *testing.T) {
		if !reflect.DeepEqual(rels["owner"], Relationship{Data: []Identifier{{"users", "1"}}}) {
			t.Errorf("owner = %+v", rels["owner"])
		}
		if !rels["picture"].Null || rels["picture"].ToMany || rels["picture"].Data != nil {
			t.Errorf("picture = %+v", rels["picture"])
		}
		if g := rels["groups"]; !g.ToMany || g.Data == nil || len(g.Data) != 0 {
			t.Errorf("groups = %+v", g)
		}
		if n := rels["activityNotes"]; n.Null || n.ToMany || n.Data != nil {
			t.Errorf("links-only relationship = %+v", n)
		}
	})
	t.Run("reads updatedAt", func(t *testing.T) {
		if at, ok := r.UpdatedAt(); !ok || !at.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("UpdatedAt = %v, %v", at, ok)
		}
	})
	t.Run("lists the references", func(t *testing.T) {
		wantRefs := []Identifier{{"accounts", "2"}, {"accounts", "3"}, {"users", "1"}}
		if got := r.Refs(); !reflect.DeepEqual(got, wantRefs) {
			t.Errorf("Refs = %v; want %v", got, wantRefs)
		}
	})

	t.Run("reads null data as a single document", func(t *testing.T) {
		single, err := ParseDocument([]byte(`{"data":null}`))
		if err != nil || !single.Single || len(single.Data) != 0 {
			t.Errorf("null data: %+v, %v", single, err)
		}
	})
}

func TestUpdatedAtIsFalseWhenAbsentOrInvalid(t *testing.T) {
	for _, attrs := range []string{`{}`, `{"updatedAt":null}`, `{"updatedAt":5}`, `{"updatedAt":"yesterday"}`} {
		d, err := ParseDocument([]byte(`{"data":{"type":"x","id":"1","attributes":` + attrs + `}}`))
		if err != nil {
			t.Fatal(err)
		}
		if at, ok := d.Data[0].UpdatedAt(); ok {
			t.Errorf("%s: UpdatedAt = %v, true", attrs, at)
		}
	}
	if _, ok := (Resource{}).UpdatedAt(); ok {
		t.Error("zero Resource has an UpdatedAt")
	}
}

// TestContactFixtureDecodes parses Oro's own get_contact.yml fixture
// (Alice placeholders stay strings).
func TestContactFixtureDecodes(t *testing.T) {
	b, err := os.ReadFile(contactFixture)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDocument(js)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Single || len(d.Data) != 1 {
		t.Fatalf("doc = %+v", d)
	}
	r := d.Data[0]
	if r.Type != "contacts" || r.ID != "<toString(@contact1->id)>" {
		t.Errorf("identity = %s/%s", r.Type, r.ID)
	}
	if len(r.Attributes) != 27 {
		t.Errorf("%d attributes; want 27", len(r.Attributes))
	}
	for name, want := range map[string]string{
		"firstName":    `"Contact 1"`,
		"lastName":     `null`,
		"birthday":     `"1973-03-07"`,
		"primaryEmail": `"contact1_2@example.com"`,
		"primaryPhone": `"5556661112"`,
		"emails":       `[{"email":"contact1_1@example.com"},{"email":"contact1_2@example.com"}]`,
		"phones":       `[{"phone":"5556661111"},{"phone":"5556661112"}]`,
	} {
		if got := string(r.Attributes[name]); got != want {
			t.Errorf("attribute %s = %s; want %s", name, got, want)
		}
	}
	if _, ok := r.UpdatedAt(); ok {
		t.Error("placeholder updatedAt parsed as a time")
	}
	user := Identifier{"users", "<toString(@user->id)>"}
	account := Identifier{"accounts", "<toString(@account1->id)>"}
	org := Identifier{"organizations", "<toString(@organization->id)>"}
	wantRels := map[string]Relationship{
		"source": {Null: true}, "method": {Null: true}, "assignedTo": {Null: true}, "reportsTo": {Null: true},
		"updatedBy": {Null: true}, "picture": {Null: true},
		"owner": {Data: []Identifier{user}}, "createdBy": {Data: []Identifier{user}},
		"organization":      {Data: []Identifier{org}},
		"addresses":         {ToMany: true, Data: []Identifier{}},
		"groups":            {ToMany: true, Data: []Identifier{}},
		"accounts":          {ToMany: true, Data: []Identifier{account}},
		"defaultInAccounts": {ToMany: true, Data: []Identifier{account}},
	}
	if !reflect.DeepEqual(r.Relationships, wantRels) {
		t.Errorf("relationships = %+v\nwant %+v", r.Relationships, wantRels)
	}
	if got, want := r.Refs(), []Identifier{account, user, org}; !reflect.DeepEqual(got, want) {
		t.Errorf("Refs = %v; want %v", got, want)
	}
	if !bytes.Contains(r.Raw, []byte(`"firstName":"Contact 1"`)) {
		t.Errorf("Raw = %s", r.Raw)
	}
}

func FuzzParseDocument(f *testing.F) {
	f.Add([]byte(contactDocJSON))
	f.Add([]byte(`{"data":[` + contactJSON + `],"included":[{"type":"accounts","id":"1"}],"links":{"next":"x"}}`))
	f.Add([]byte(`{"data":[{"type":"contacts"}]}`))
	f.Add([]byte(`{"data":{"type":"contacts","id":"1","relationships":{"owner":{"data":"x"}}}}`))
	f.Add([]byte(`{"errors":[{"status":"400"}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDocument(b)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is a %T, not *ParseError", err, err)
			}
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		if d.Single && len(d.Data) > 1 {
			t.Fatalf("single document with %d resources", len(d.Data))
		}
		for _, list := range [][]Resource{d.Data, d.Included} {
			for _, r := range list {
				if r.Type == "" || r.ID == "" {
					t.Fatalf("resource without identity: %+v", r)
				}
				if !json.Valid(r.Raw) {
					t.Fatalf("Raw is not JSON: %q", r.Raw)
				}
				for _, id := range r.Refs() {
					if id.Type == "" || id.ID == "" {
						t.Fatalf("empty identifier in %q", r.Raw)
					}
				}
				r.UpdatedAt()
				// Raw parses back to the same resource.
				again, err := ParseDocument(append(append([]byte(`{"data":`), r.Raw...), '}'))
				if err != nil {
					t.Fatalf("Raw %q does not parse again: %v", r.Raw, err)
				}
				if got := again.Data[0]; got.Type != r.Type || got.ID != r.ID ||
					!reflect.DeepEqual(got.Relationships, r.Relationships) {
					t.Fatalf("Raw round trip changed the resource: %+v vs %+v", got, r)
				}
			}
		}
	})
}
