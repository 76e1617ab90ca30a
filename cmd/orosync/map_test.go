package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
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
