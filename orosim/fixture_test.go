package orosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// fixtureDir holds the repository's copy of Oro's own functional-test fixtures for contacts.
const fixtureDir = "../testdata/oro-fixtures/oroinc/crm/src/Oro/Bundle/ContactBundle/Tests/Functional/Api/RestJsonApi"

func loadFixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("parse fixture %s: %v", name, err)
	}
	return v
}

// isPlaceholder reports Alice/Oro template expressions such as
// '<toString(@contact1->id)>' and '@contact1->createdAt->format(...)'.
func isPlaceholder(v any) bool {
	s, ok := v.(string)
	return ok && (strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") || strings.HasPrefix(s, "@"))
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case int, int64, float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// containsFixture checks Oro's subset rule (assertResponseContains): every key
// of the fixture exists in the response with the same JSON kind. strict also
// requires equal literal values and equal array lengths; otherwise scalars
// are nullable both ways (a seeded contact may have a jobTitle, or no
// birthday) and the first array item is the shape of every item.
func containsFixture(t *testing.T, path string, want, got any, strict bool) {
	t.Helper()
	if isPlaceholder(want) {
		if _, ok := got.(string); !ok {
			t.Errorf("%s: %v (%s), fixture has a string placeholder", path, got, jsonKind(got))
		}
		return
	}
	if !strict && (want == nil || got == nil && jsonKind(want) != "array" && jsonKind(want) != "object") {
		return // scalar attributes are nullable
	}
	if wk, gk := jsonKind(want), jsonKind(got); wk != gk {
		t.Errorf("%s: kind %s (%v), fixture has %s (%v)", path, gk, got, wk, want)
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s.%s: missing", path, k)
				continue
			}
			// Resource types are literal even where values are not compared.
			containsFixture(t, path+"."+k, wv, gv, strict || k == "type")
		}
	case []any:
		g := got.([]any)
		if strict && len(g) != len(w) {
			t.Errorf("%s: %d items, fixture has %d", path, len(g), len(w))
			return
		}
		for i, gv := range g {
			if strict {
				containsFixture(t, fmt.Sprintf("%s[%d]", path, i), w[i], gv, true)
			} else if len(w) > 0 {
				containsFixture(t, fmt.Sprintf("%s[%d]", path, i), w[0], gv, false)
			}
		}
	default:
		if strict && fmt.Sprint(want) != fmt.Sprint(got) {
			t.Errorf("%s: %v, fixture has %v", path, got, want)
		}
	}
}

// applyFixture makes a contact hold the fixture's values: literal attributes
// as they are, relationship placeholders as id "1".
func applyFixture(t *testing.T, sim *Server, id string, resource map[string]any) {
	t.Helper()
	attrs := map[string]any{}
	for k, v := range resource["attributes"].(map[string]any) {
		if !isPlaceholder(v) {
			attrs[k] = v
		}
	}
	for k, v := range resource["relationships"].(map[string]any) {
		data := v.(map[string]any)["data"]
		attrs[k] = replacePlaceholders(data)
	}
	if err := sim.UpdateContact(id, attrs); err != nil {
		t.Fatal(err)
	}
}

func replacePlaceholders(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = replacePlaceholders(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = replacePlaceholders(e)
		}
		return out
	}
	if isPlaceholder(v) {
		return "1"
	}
	return v
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGetContactMatchesOroFixtureShape(t *testing.T) {
	fixture := loadFixture(t, "responses/get_contact.yml")
	h := newHarness(t, Config{Contacts: 50})

	t.Run("every seeded contact has the fixture's keys and kinds", func(t *testing.T) {
		for i := 1; i <= 50; i++ {
			_, body := h.get(fmt.Sprintf("/api/contacts/%d", i), "X-Include", "noHateoas")
			containsFixture(t, fmt.Sprintf("contact%d", i), fixture, decode(t, body), false)
		}
	})
	t.Run("a contact holding the fixture's data renders as the fixture", func(t *testing.T) {
		applyFixture(t, h.sim, "1", fixture["data"].(map[string]any))
		_, body := h.get("/api/contacts/1", "X-Include", "noHateoas")
		containsFixture(t, "contact1", fixture, decode(t, body), true)
		// HATEOAS links are extra keys, which the subset rule allows.
		_, body = h.get("/api/contacts/1")
		containsFixture(t, "contact1+links", fixture, decode(t, body), true)
	})
}

func TestFilterByEmailMatchesOroFixtureShape(t *testing.T) {
	fixture := loadFixture(t, "responses/get_contacts_filter_by_email.yml")
	h := newHarness(t, Config{Contacts: 30})
	item := fixture["data"].([]any)[0].(map[string]any)
	applyFixture(t, h.sim, "12", item)
	d, _ := h.getDoc("/api/contacts?filter[emails]=contact1_1@example.com", http.StatusOK, "X-Include", "noHateoas")
	containsFixture(t, "list", fixture, d, true)
}

func TestCreateContactMinRequestShapeIsAccepted(t *testing.T) {
	req := loadFixture(t, "requests/create_contact_min.yml")
	h := newHarness(t, Config{Contacts: 2})
	attrs := req["data"].(map[string]any)["attributes"].(map[string]any)
	id, err := h.sim.CreateContact(attrs)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := h.getDoc("/api/contacts/"+id, http.StatusOK)
	got := d["data"].(map[string]any)["attributes"].(map[string]any)
	if !reflect.DeepEqual(got["firstName"], "Bob") || id != "3" {
		t.Errorf("created %s: %v", id, got)
	}
}
