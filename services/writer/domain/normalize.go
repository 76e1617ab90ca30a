package domain

import (
	"strings"

	"github.com/orosync/orosync/events"
)

// Values as Mercato's own commands store them, whatever the mapping produced: the writer applies these before it
// compares or writes, so a mapping that leaves spaces or case in a value cannot make a row Mercato would not have.

// optional is Mercato's normalizeOptionalString (customers/commands/people.ts): trimmed, empty is null. The
// pointer is kept when nothing changes.
func optional(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	switch {
	case t == "":
		return nil
	case len(t) == len(*s):
		return s
	}
	return &t
}

// DeriveDisplayName is Mercato's deriveDisplayName (customers/lib/displayName.ts): the trimmed first and last names
// joined by a space, either left out when empty.
func DeriveDisplayName(first, last *string) string {
	f, l := "", ""
	if first != nil {
		f = strings.TrimSpace(*first)
	}
	if last != nil {
		l = strings.TrimSpace(*last)
	}
	switch {
	case f == "":
		return l
	case l == "":
		return f
	}
	return f + " " + l
}

// NormalizePerson is the person Mercato's people commands write for these values (commands/people.ts create and
// update): optional strings trimmed and empty ones null (normalizeOptionalString), the primary email also lower-cased
// (normalizeEmail), the display name trimmed or, when that leaves nothing, derived from the names.
func NormalizePerson(p events.Person) events.Person {
	p.DisplayName = strings.TrimSpace(p.DisplayName)
	if p.DisplayName == "" {
		p.DisplayName = DeriveDisplayName(p.FirstName, p.LastName)
	}
	if e := optional(p.PrimaryEmail); e != nil {
		if l := strings.ToLower(*e); l != *e {
			e = &l
		}
		p.PrimaryEmail = e
	} else {
		p.PrimaryEmail = nil
	}
	p.PrimaryPhone, p.FirstName, p.LastName, p.JobTitle = optional(p.PrimaryPhone), optional(p.FirstName), optional(p.LastName),
		optional(p.JobTitle)
	p.Description, p.LinkedInURL, p.TwitterURL = optional(p.Description), optional(p.LinkedInURL), optional(p.TwitterURL)
	p.Source, p.Status, p.LifecycleStage = optional(p.Source), optional(p.Status), optional(p.LifecycleStage)
	return p
}

// NormalizeCompany is the company Mercato's company commands write for these values (commands/companies.ts, the
// validators' trim and emptyStringToNull): every value trimmed, empty optional ones null; the email keeps its case.
func NormalizeCompany(c events.Company) events.Company {
	c.DisplayName = strings.TrimSpace(c.DisplayName)
	c.LegalName, c.WebsiteURL, c.Industry = optional(c.LegalName), optional(c.WebsiteURL), optional(c.Industry)
	c.Description, c.PrimaryEmail, c.PrimaryPhone = optional(c.Description), optional(c.PrimaryEmail), optional(c.PrimaryPhone)
	return c
}
