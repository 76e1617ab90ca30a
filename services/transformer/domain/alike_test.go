package domain

import (
	"strings"
	"testing"

	"github.com/orosync/orosync/services/transformer/mappings"
)

// shippedWith parses the shipped mapping under version with each old → new replacement made.
func shippedWith(t *testing.T, version string, replace ...string) *Mapping {
	t.Helper()
	b, err := mappings.Files.ReadFile(mappings.Default)
	if err != nil {
		t.Fatal(err)
	}
	v := strings.Replace(string(b), "version: oro-v1", "version: "+version, 1)
	for i := 0; i < len(replace); i += 2 {
		if !strings.Contains(v, replace[i]) {
			t.Fatalf("the shipped mapping has no %q", replace[i])
		}
		v = strings.Replace(v, replace[i], replace[i+1], 1)
	}
	m, err := Parse([]byte(v))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTypesWhoseEntryTablesAndEmbedsAreUnchangedMapAlike(t *testing.T) {
	base := Default()
	t.Run("a changed type, the types that embed records and nothing else differ", func(t *testing.T) {
		m := shippedWith(t, "oro-v2-jobs", `{to: jobTitle, from: attributes.jobTitle, as: text}`,
			`{to: jobTitle, field: attributes.jobTitle, expr: 'upper(text(attr.jobTitle))'}`)
		alike := TypesMappedAlike(m, base)
		for typ, want := range map[string]bool{"contacts": false, "leads": false, "b2bcustomers": false,
			"accounts": true, "opportunities": true, "asyncoperations": true} {
			if alike[typ] != want {
				t.Errorf("%s mapped alike: %v; want %v", typ, alike[typ], want)
			}
		}
	})
	t.Run("a changed table", func(t *testing.T) {
		m := shippedWith(t, "oro-v2-status", "won: win", "won: open")
		if alike := TypesMappedAlike(m, base); alike["accounts"] || alike["opportunities"] {
			t.Errorf("types mapped alike despite a changed table: %v", alike)
		}
	})
	t.Run("the same entries under another version", func(t *testing.T) {
		alike := TypesMappedAlike(shippedWith(t, "oro-v1-copy"), base)
		for typ := range base.Types {
			if !alike[typ] {
				t.Errorf("%s not mapped alike by a copy of the mapping", typ)
			}
		}
	})
	t.Run("without a base", func(t *testing.T) {
		if alike := TypesMappedAlike(base, nil); alike != nil {
			t.Errorf("%v; want nil", alike)
		}
	})
}
