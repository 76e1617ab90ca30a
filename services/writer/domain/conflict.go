package domain

import (
	"fmt"
	"strings"
	"time"

	"github.com/orosync/orosync/events"
)

// Policy decides who wins when Oro and Mercato both changed a record since the last sync.
type Policy string

// Conflict policies (DESIGN.md, "Conflicts").
const (
	OroWins       Policy = "oro-wins"
	MercatoWins   Policy = "mercato-wins"
	LastWriteWins Policy = "last-write-wins"
	// Merge is a field-level three-way merge against the last synced snapshot: a field changed on one side only
	// takes that side's value; a field changed differently on both sides goes to the review queue (or to the
	// field's own policy, when one is set) and keeps Mercato's value meanwhile.
	Merge Policy = "merge"
)

// ParsePolicy accepts the names above.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.TrimSpace(s)); p {
	case OroWins, MercatoWins, LastWriteWins, Merge:
		return p, nil
	}
	return "", fmt.Errorf("conflict policy %q: want oro-wins, mercato-wins, last-write-wins or merge", s)
}

// Policies of one aggregate: a default and optional per-field overrides (keys as in PersonFields).
type Policies struct {
	Default Policy
	Fields  map[string]Policy
}

func (p Policies) of(field string) Policy {
	if f, ok := p.Fields[field]; ok {
		return f
	}
	if p.Default == "" {
		return OroWins
	}
	return p.Default
}

// Rules are the conflict policies per aggregate (events.AggregatePerson, ...); an aggregate without rules is
// oro-wins.
type Rules map[string]Policies

// Conflict kinds in the review queue.
const (
	ConflictFieldMerge      = "field-merge"
	ConflictEmailMatch      = "email-match"
	ConflictDeleteLocalEdit = "delete-local-edit"
)

// Conflict is one entry for the review queue, decided in Plan and stored by the adapter.
type Conflict struct {
	Kind   string
	Fields []string
	Change events.Change
	Local  *events.Person
	Base   *events.Person
	// LocalCompany and BaseCompany replace Local and Base for a company (customers.company).
	LocalCompany, BaseCompany *events.Company
	// Candidates are Mercato entities an email matched (email-match).
	Candidates []Candidate
}

// Candidate is an unlinked Mercato person whose primary email equals an incoming contact's.
type Candidate struct {
	EntityID, ProfileID string
	Person              events.Person
	UpdatedAt           time.Time
}

// personField names a Person field and reaches it.
type personField struct {
	name string
	get  func(*events.Person) *string
}

// PersonFields are the mapped fields of a person, in a fixed order (the names policies and conflicts use).
var PersonFields = []personField{
	{"displayName", func(p *events.Person) *string { return &p.DisplayName }},
	{"primaryEmail", func(p *events.Person) *string { return p.PrimaryEmail }},
	{"primaryPhone", func(p *events.Person) *string { return p.PrimaryPhone }},
	{"firstName", func(p *events.Person) *string { return p.FirstName }},
	{"lastName", func(p *events.Person) *string { return p.LastName }},
	{"jobTitle", func(p *events.Person) *string { return p.JobTitle }},
	{"description", func(p *events.Person) *string { return p.Description }},
	{"linkedInUrl", func(p *events.Person) *string { return p.LinkedInURL }},
	{"twitterUrl", func(p *events.Person) *string { return p.TwitterURL }},
	{"source", func(p *events.Person) *string { return p.Source }},
	{"status", func(p *events.Person) *string { return p.Status }},
}

func fieldValue(p *events.Person, f personField) (string, bool) {
	v := f.get(p)
	if v == nil {
		return "", false
	}
	return *v, true
}

func setField(p *events.Person, name string, v string, ok bool) {
	switch name {
	case "displayName":
		p.DisplayName = v
		return
	}
	var s *string
	if ok {
		s = &v
	}
	switch name {
	case "primaryEmail":
		p.PrimaryEmail = s
	case "primaryPhone":
		p.PrimaryPhone = s
	case "firstName":
		p.FirstName = s
	case "lastName":
		p.LastName = s
	case "jobTitle":
		p.JobTitle = s
	case "description":
		p.Description = s
	case "linkedInUrl":
		p.LinkedInURL = s
	case "twitterUrl":
		p.TwitterURL = s
	case "source":
		p.Source = s
	case "status":
		p.Status = s
	}
}

// MergePerson resolves an incoming Oro version against Mercato's current values and the last synced snapshot.
// It returns the values to write and the fields left for review (which keep Mercato's value meanwhile).
func MergePerson(rules Policies, incoming, local, base events.Person, oroNewer bool) (events.Person, []string) {
	out := local
	var review []string
	for _, f := range PersonFields {
		o, oOK := fieldValue(&incoming, f)
		l, lOK := fieldValue(&local, f)
		b, bOK := fieldValue(&base, f)
		same := func(x string, xOK bool, y string, yOK bool) bool { return xOK == yOK && x == y }
		var v string
		var vOK bool
		switch p := rules.of(f.name); {
		case same(o, oOK, l, lOK):
			v, vOK = o, oOK
		case p == OroWins:
			v, vOK = o, oOK
		case p == MercatoWins:
			v, vOK = l, lOK
		case p == LastWriteWins:
			if oroNewer {
				v, vOK = o, oOK
			} else {
				v, vOK = l, lOK
			}
		case same(l, lOK, b, bOK): // merge: only Oro changed it
			v, vOK = o, oOK
		case same(o, oOK, b, bOK): // merge: only Mercato changed it
			v, vOK = l, lOK
		default:
			v, vOK = l, lOK
			review = append(review, f.name)
		}
		setField(&out, f.name, v, vOK)
	}
	return out, review
}

// LinkPerson merges an incoming Oro contact into the Mercato person its email matched: Oro's values where it has
// one, Mercato's where Oro's is empty.
func LinkPerson(incoming, local events.Person) events.Person {
	out := local
	for _, f := range PersonFields {
		if v, ok := fieldValue(&incoming, f); ok && v != "" {
			setField(&out, f.name, v, true)
		}
	}
	return out
}

// TakeFields returns local with the named fields taken from incoming (resolving a field-merge conflict for Oro).
func TakeFields(local, incoming events.Person, fields []string) events.Person {
	out := local
	for _, f := range PersonFields {
		for _, name := range fields {
			if f.name == name {
				v, ok := fieldValue(&incoming, f)
				setField(&out, f.name, v, ok)
			}
		}
	}
	return out
}
