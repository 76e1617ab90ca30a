package orosim

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// fixtureRoot holds the repository's copy of Oro's functional-test fixtures.
const fixtureRoot = "../testdata/oro-fixtures/oroinc"

// testTypes are types of Oro's test bundles, played by a CRM type here.
var testTypes = map[string]string{"testactivitytargets": "accounts"}

// fixtureNotSimulated lists fixtures the conformance test leaves out, and why.
var fixtureNotSimulated = map[string]string{
	"get_async_operation.yml": "the asynchronous batch API is not simulated (X-Mode: sync only)",
}

// loadYAML reads a fixture, maps test-only types and turns YAML's empty
// maps into empty arrays (PHP has one empty array for both).
func loadYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return normalizeFixture(v).(map[string]any)
}

func normalizeFixture(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return []any{}
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = normalizeFixture(e)
		}
		if typ, ok := out["type"].(string); ok && testTypes[typ] != "" {
			out["type"] = testTypes[typ]
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeFixture(e)
		}
		return out
	case int:
		return float64(x)
	}
	return v
}

// idMap gives each placeholder an id of its type: the first placeholder of
// a type is "1", the next "2", so distinct fixture records stay distinct.
type idMap map[string]map[string]string

func (m idMap) id(typ, placeholder string) string {
	if m[typ] == nil {
		m[typ] = map[string]string{}
	}
	if id, ok := m[typ][placeholder]; ok {
		return id
	}
	id := fmt.Sprint(len(m[typ]) + 1)
	m[typ][placeholder] = id
	return id
}

// linkage replaces placeholder ids in relationship data.
func (m idMap) linkage(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = m.linkage(e)
		}
		return out
	case map[string]any:
		typ, _ := x["type"].(string)
		id := x["id"]
		if isPlaceholder(id) {
			id = m.id(typ, id.(string))
		}
		return map[string]any{"type": typ, "id": id}
	}
	return v
}

// fields turns a fixture resource into write fields: literal attributes and
// relationships with placeholder ids replaced.
func (m idMap) fields(res map[string]any) map[string]any {
	out := map[string]any{}
	a, _ := res["attributes"].(map[string]any)
	for k, v := range a {
		if !isPlaceholder(v) {
			out[k] = v
		}
	}
	r, _ := res["relationships"].(map[string]any)
	for k, v := range r {
		rel, _ := v.(map[string]any)
		out[k] = m.linkage(rel["data"])
	}
	return out
}

// conformanceSim has a few records of every type for relationships to hit.
func conformanceSim(t *testing.T) *harness {
	return newHarness(t, Config{Contacts: 10, Counts: map[string]int{
		"accounts": 5, "b2bcustomers": 5, "opportunities": 5, "leads": 5, "tasks": 3, "calls": 3, "notes": 3,
		"emails": 3, "cases": 3, "users": 5,
	}})
}

// create stores a fixture resource as a new record and returns its id.
func create(t *testing.T, h *harness, res map[string]any, m idMap) string {
	t.Helper()
	typ := res["type"].(string)
	fields := m.fields(res)
	// Placeholder values of client-set attributes (a task's dueDate) get a
	// value of their kind; server-set ones are the server's.
	def, _ := h.sim.store.def(typ)
	a, _ := res["attributes"].(map[string]any)
	for k, v := range a {
		if ad, ok := def.attr(k); ok && isPlaceholder(v) && !ad.ServerSet {
			switch ad.Kind {
			case kindDateTime:
				fields[k] = h.clock.Now().Format(oroDateTime)
			case kindDate:
				fields[k] = h.clock.Now().Format("2006-01-02")
			default:
				fields[k] = "placeholder"
			}
		}
	}
	rec, err := h.sim.createRecord(typ, fields, adminUser)
	if err != nil {
		t.Fatalf("create %s from fixture: %v", typ, err)
	}
	return rec.idString()
}

// includeFor derives include= from the types of a fixture's included items:
// the relationships of the primary data that point to those types.
func includeFor(data []any, included []any) string {
	want := map[string]bool{}
	for _, x := range included {
		want[x.(map[string]any)["type"].(string)] = true
	}
	var names []string
	for _, x := range data {
		rels, _ := x.(map[string]any)["relationships"].(map[string]any)
		for name, v := range rels {
			d := v.(map[string]any)["data"]
			items, ok := d.([]any)
			if !ok && d != nil {
				items = []any{d}
			}
			for _, it := range items {
				if want[it.(map[string]any)["type"].(string)] && !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// containsIncluded checks every fixture included item against an included
// resource of the same type (shape only: related records differ).
func containsIncluded(t *testing.T, want, got []any) {
	t.Helper()
	for i, w := range want {
		typ := w.(map[string]any)["type"]
		found := false
		for _, g := range got {
			if g.(map[string]any)["type"] == typ {
				containsFixture(t, fmt.Sprintf("included[%d]", i), w, g, false)
				found = true
				break
			}
		}
		if !found {
			t.Errorf("included[%d]: no %v included", i, typ)
		}
	}
}

func TestConformanceWithOroFixtures(t *testing.T) {
	var files []string
	err := filepath.WalkDir(fixtureRoot, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yml") && strings.Contains(p, "/RestJsonApi") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	covered := 0
	for _, path := range files {
		name := filepath.Base(path)
		if why, ok := fixtureNotSimulated[name]; ok {
			t.Logf("skipped %s: %s", name, why)
			continue
		}
		isRequest := strings.Contains(path, "/requests/")
		if isRequest && strings.HasPrefix(name, "create_") {
			if _, err := os.Stat(strings.Replace(path, "/requests/", "/responses/", 1)); err == nil {
				continue // checked with its response
			}
		}
		ok := t.Run(name, func(t *testing.T) {
			h := conformanceSim(t)
			m := idMap{}
			fx := loadYAML(t, path)
			switch {
			case isRequest: // a create request without response fixture: 201
				typ := fx["data"].(map[string]any)["type"].(string)
				body, _ := json.Marshal(map[string]any{"data": mapLinkage(fx["data"].(map[string]any), m)})
				resp, d := h.send(http.MethodPost, "/api/"+typ, string(body))
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("POST %s: %d %v", name, resp.StatusCode, d)
				}
			case strings.HasPrefix(name, "create_"):
				req := loadYAML(t, strings.Replace(path, "/responses/", "/requests/", 1))
				typ := req["data"].(map[string]any)["type"].(string)
				body, _ := json.Marshal(map[string]any{"data": mapLinkage(req["data"].(map[string]any), m)})
				resp, d := h.send(http.MethodPost, "/api/"+typ, string(body), "X-Include", "noHateoas")
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("POST: %d %v", resp.StatusCode, d)
				}
				containsFixture(t, "data", fx["data"], any(d["data"]), true)
			case strings.HasPrefix(name, "get_subresource_"):
				// get_subresource_opportunity_account: the related account
				// of an opportunity.
				res := fx["data"].(map[string]any)
				id := create(t, h, res, m)
				parts := strings.SplitN(strings.TrimSuffix(strings.TrimPrefix(name, "get_subresource_"), ".yml"), "_", 2)
				parentType := map[string]string{"opportunity": "opportunities"}[parts[0]]
				parent, err := h.sim.createRecord(parentType, map[string]any{"name": "Parent", parts[1]: ref{Type: res["type"].(string), ID: id}}, adminUser)
				if err != nil {
					t.Fatal(err)
				}
				d, _ := h.getDoc("/api/"+parentType+"/"+parent.idString()+"/"+parts[1], http.StatusOK, "X-Include", "noHateoas")
				containsFixture(t, "data", res, any(d["data"]), true)
			case strings.HasPrefix(name, "get_") && jsonKind(fx["data"]) == "object":
				res := fx["data"].(map[string]any)
				id := create(t, h, res, m)
				d, _ := h.getDoc("/api/"+res["type"].(string)+"/"+id, http.StatusOK, "X-Include", "noHateoas")
				containsFixture(t, "data", res, any(d["data"]), true)
			case strings.HasPrefix(name, "cget_") || strings.HasPrefix(name, "get_"):
				items := fx["data"].([]any)
				typ := items[0].(map[string]any)["type"].(string)
				var created []string
				for _, it := range items {
					created = append(created, create(t, h, it.(map[string]any), m))
				}
				q := "?filter[id]=" + strings.Join(created, ",")
				if strings.Contains(name, "_filter_by_status") {
					st := items[0].(map[string]any)["relationships"].(map[string]any)["status"].(map[string]any)["data"].(map[string]any)["id"]
					q += "&filter[status]=" + st.(string)
				}
				if strings.Contains(name, "_filter_by_email") {
					first := items[0].(map[string]any)["attributes"].(map[string]any)["emails"].([]any)[0]
					q += "&filter[emails]=" + first.(map[string]any)["email"].(string)
				}
				if strings.HasSuffix(name, "_title.yml") {
					q += "&meta=title"
				}
				inc, _ := fx["included"].([]any)
				if len(inc) > 0 {
					q += "&include=" + includeFor(items, inc)
				}
				d, _ := h.getDoc("/api/"+typ+q, http.StatusOK, "X-Include", "noHateoas")
				containsFixture(t, "data", fx["data"], any(d["data"]), true)
				if len(inc) > 0 {
					got, _ := d["included"].([]any)
					containsIncluded(t, inc, got)
				}
				// Order rule: the default sort is id ascending.
				var nums []int
				for _, id := range ids(d) {
					n, _ := strconv.Atoi(id)
					nums = append(nums, n)
				}
				if !slices.IsSorted(nums) {
					t.Errorf("ids %v not ascending", nums)
				}
			default:
				t.Skipf("no rule for %s", name)
			}
		})
		if ok && strings.HasPrefix(name, "create_") && !isRequest {
			covered += 2
			t.Logf("covered %s (request and response)", name)
		} else if ok {
			covered++
			t.Logf("covered %s", name)
		} else {
			t.Logf("FAILED %s", name)
		}
	}
	t.Logf("%d fixture files covered", covered)
	if covered < 25 {
		t.Errorf("only %d fixture files covered, want at least 25", covered)
	}
}

// mapLinkage replaces placeholder ids in a request document's
// relationships and drops placeholder attributes.
func mapLinkage(res map[string]any, m idMap) map[string]any {
	out := map[string]any{"type": res["type"]}
	attrs := map[string]any{}
	if a, ok := res["attributes"].(map[string]any); ok {
		for k, v := range a {
			if !isPlaceholder(v) {
				attrs[k] = v
			}
		}
	}
	out["attributes"] = attrs
	rels := map[string]any{}
	if r, ok := res["relationships"].(map[string]any); ok {
		for k, v := range r {
			rels[k] = map[string]any{"data": m.linkage(v.(map[string]any)["data"])}
		}
	}
	out["relationships"] = rels
	return out
}
