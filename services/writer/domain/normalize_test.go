package domain

import (
	"testing"

	"github.com/orosync/orosync/events"
)

func TestValuesAreNormalizedAsMercatosCommandsNormalizeThem(t *testing.T) {
	str := func(s string) *string { return &s }
	t.Run("a person's optional strings are trimmed, empty ones null, the email lower-cased", func(t *testing.T) {
		// customers/commands/people.ts normalizeOptionalString, normalizeEmail; lib/displayName.ts deriveDisplayName.
		p := NormalizePerson(events.Person{DisplayName: "  ", FirstName: str(" Ada "), LastName: str("\tLovelace"),
			PrimaryEmail: str(" Ada@Example.COM "), PrimaryPhone: str("  "), Description: str(" Analyst\n"), Source: str(""),
			Status: str(" new "), LinkedInURL: str(" https://www.linkedin.com/in/ada ")})
		if p.DisplayName != "Ada Lovelace" || *p.FirstName != "Ada" || *p.LastName != "Lovelace" || *p.PrimaryEmail != "ada@example.com" ||
			p.PrimaryPhone != nil || *p.Description != "Analyst" || p.Source != nil || *p.Status != "new" ||
			*p.LinkedInURL != "https://www.linkedin.com/in/ada" {
			t.Errorf("normalized person %+v", p)
		}
	})
	t.Run("a given display name is kept, trimmed", func(t *testing.T) {
		if p := NormalizePerson(events.Person{DisplayName: " Lead 1 ", FirstName: str("Ann")}); p.DisplayName != "Lead 1" {
			t.Errorf("display name %q", p.DisplayName)
		}
	})
	t.Run("a company's email keeps its case", func(t *testing.T) {
		// customers/data/validators.ts: clearableEmailSchema trims (emptyStringToNull), companies.ts does not lower-case.
		c := NormalizeCompany(events.Company{DisplayName: " Acme ", PrimaryEmail: str(" Info@Acme.example "), Industry: str(" ")})
		if c.DisplayName != "Acme" || *c.PrimaryEmail != "Info@Acme.example" || c.Industry != nil {
			t.Errorf("normalized company %+v", c)
		}
	})
	t.Run("values already normal keep their pointers", func(t *testing.T) {
		first := str("Ada")
		if p := NormalizePerson(events.Person{DisplayName: "Ada", FirstName: first}); p.FirstName != first {
			t.Error("a normal value was copied")
		}
	})
}

func TestSamePersonComparesEveryFieldConflictsAreAbout(t *testing.T) {
	for _, f := range PersonFields {
		var a, b events.Person
		setField(&b, f.name, "x", true)
		if SamePerson(a, b) {
			t.Errorf("persons differing in %s compare the same", f.name)
		}
	}
}
