package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func runMap(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	old := stdinReader
	stdinReader = strings.NewReader(stdin)
	defer func() { stdinReader = old }()
	var out, errOut strings.Builder
	err := run(context.Background(), append([]string{"map"}, args...), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestMapPreviewsAListWithIncludedResourcesAsOneJSONLinePerRecord(t *testing.T) {
	doc := `{"data":[
 {"type":"contacts","id":"1","attributes":{"firstName":"Ann","updatedAt":"2026-01-01T00:00:00Z"},
  "relationships":{"addresses":{"data":[{"type":"contactaddresses","id":"5"}]}}},
 {"type":"tasks","id":"2","attributes":{"subject":"Call"},"relationships":{"activityTargets":{"data":[{"type":"contacts","id":"1"}]}}}],
 "included":[{"type":"contactaddresses","id":"5","attributes":{"street":"1 Main St","primary":true}}]}`
	out, _, err := runMap(t, doc, "--tenant", "acme")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	var first struct {
		Change struct {
			MappingVersion string `json:"mappingVersion"`
			Person         struct {
				Addresses []struct {
					AddressLine1 string `json:"addressLine1"`
				} `json:"addresses"`
			} `json:"person"`
		} `json:"change"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Change.MappingVersion != "oro-v1" || len(first.Change.Person.Addresses) != 1 || first.Change.Person.Addresses[0].AddressLine1 != "1 Main St" {
		t.Errorf("first line %s", lines[0])
	}
	if !strings.Contains(lines[1], `"aggregate":"customers.interaction"`) {
		t.Errorf("second line %s", lines[1])
	}
}

func TestMapRefusesInvalidInputWithAMessageNamingWhatIsWrong(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"not JSON":         {`{"data":`, "not a JSON:API document"},
		"no data":          {`{"meta":{}}`, "no data"},
		"missing id":       {`{"data":{"type":"contacts"}}`, `id ""`},
		"bad field":        {`{"data":{"type":"contacts","id":"1","attributes":{"firstName":7,"updatedAt":"2026-01-01T00:00:00Z"}}}`, "attributes.firstName"},
		"unknown type":     {`{"data":{"type":"widgets","id":"1"}}`, "known-type"},
		"other than -type": {`{"data":{"type":"tasks","id":"1"}}`, "--type contacts"},
	} {
		t.Run(name, func(t *testing.T) {
			args := []string{}
			if name == "other than -type" {
				args = []string{"--type", "contacts"}
			}
			_, stderr, err := runMap(t, tc.doc, args...)
			if err == nil {
				t.Fatal("exit 0")
			}
			if msg := err.Error() + stderr; !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not name %q", msg, tc.want)
			}
		})
	}
}

func TestMapReportListsEveryFieldOfATypeWithItsDisposition(t *testing.T) {
	out, _, err := runMap(t, "", "--report", "--type", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct{ Type, Field, Disposition string }
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Type != "contacts" {
			t.Errorf("line of type %s", r.Type)
		}
		seen[r.Field] = r.Disposition
	}
	for field, want := range map[string]string{"attributes.firstName": "mapped", "relationships.accounts": "mapped",
		"attributes.skype": "custom-field", "attributes.timesContacted": "dropped"} {
		if seen[field] != want {
			t.Errorf("%s: %q, want %q", field, seen[field], want)
		}
	}
}

// fixtureFields are the Oro type and field (attributes.x, relationships.x) of every resource in Oro's own API test
// responses (testdata/oro-fixtures).
func fixtureFields(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir("../../testdata/oro-fixtures", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yml") || filepath.Base(filepath.Dir(path)) != "responses" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var doc struct {
			Data     any              `yaml:"data"`
			Included []map[string]any `yaml:"included"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		resources := doc.Included
		switch x := doc.Data.(type) {
		case map[string]any:
			resources = append(resources, x)
		case []any:
			for _, r := range x {
				if m, ok := r.(map[string]any); ok {
					resources = append(resources, m)
				}
			}
		}
		for _, r := range resources {
			typ, _ := r["type"].(string)
			for _, sec := range []string{"attributes", "relationships"} {
				fields, _ := r[sec].(map[string]any)
				for f := range fields {
					out[typ+" "+sec+"."+f] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 100 {
		t.Fatalf("%d fixture fields", len(out))
	}
	return out
}

func TestMapMercatoReportGivesEveryFixtureFieldItsMercatoDestination(t *testing.T) {
	out, _, err := runMap(t, "", "--report", "--mercato")
	if err != nil {
		t.Fatal(err)
	}
	type dest struct {
		Kind, Table, Column, Via string
		Definition               *struct{ Entity, Key, Kind string }
	}
	lines := map[string][]string{} // "type field" → problems, empty when the line is whole
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct {
			Type, Field, Disposition, Why, Aggregate string
			Mercato                                  []dest
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		k := r.Type + " " + r.Field
		lines[k] = append(lines[k], "")
		switch {
		case r.Disposition == "dropped" && r.Why == "":
			t.Errorf("%s: dropped without a reason", k)
		case r.Disposition != "dropped" && len(r.Mercato) == 0:
			t.Errorf("%s: %s with no Mercato destination: %s", k, r.Disposition, l)
		}
		for _, d := range r.Mercato {
			if d.Kind == "custom-field" && (d.Definition == nil || d.Definition.Kind == "") {
				t.Errorf("%s: custom field %s without its definition", k, d.Column)
			}
			if (d.Kind == "column" || d.Kind == "dictionary") && (d.Table == "" || d.Column == "") {
				t.Errorf("%s: %s via %s names no column", k, d.Kind, d.Via)
			}
		}
	}
	var missing []string
	for f := range fixtureFields(t) {
		typ, _, _ := strings.Cut(f, " ")
		if lines[f] == nil && lines[typ+" *"] == nil {
			missing = append(missing, f)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("fixture fields the report does not list:\n%s", strings.Join(missing, "\n"))
	}
	t.Run("a known field of each destination kind", func(t *testing.T) {
		for want, field := range map[string]string{
			`"via":"displayName","kind":"column","table":"customer_entities","column":"display_name"`:       "contacts attributes.firstName",
			`"kind":"dictionary","table":"customer_entities","column":"source","dictionary":"source"`:       "contacts relationships.source",
			`"definition":{"entity":"customers:customer_person_profile","key":"oro_birthday","kind":"text"`: "contacts attributes.birthday",
			`"definition":{"entity":"customers:customer_deal","key":"oro_budget_amount","kind":"float"`:     "opportunities attributes.budgetAmountValue",
		} {
			found := false
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, `"type":"`+strings.Fields(field)[0]+`","field":"`+strings.Fields(field)[1]+`"`) && strings.Contains(l, want) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no line with %s", field, want)
			}
		}
	})
}

func TestMapMercatoWithoutReportIsAMistakeOnTheCommandLine(t *testing.T) {
	_, stderr, err := runMap(t, "", "--mercato")
	if !errors.Is(err, errUsage) || !strings.Contains(stderr, "--report") {
		t.Errorf("err %v, stderr %q", err, stderr)
	}
}
