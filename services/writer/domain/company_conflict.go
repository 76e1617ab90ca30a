package domain

import "github.com/orosync/orosync/events"

// companyField names a mapped Company field and reaches it (the names policies and conflicts use).
type companyField struct {
	name string
	ref  func(*events.Company) **string
}

// CompanyFields are the mapped fields of a company, in a fixed order. displayName is required, so it is compared
// and set through a pointer of its own.
var CompanyFields = []companyField{
	{"displayName", nil},
	{"legalName", func(c *events.Company) **string { return &c.LegalName }},
	{"websiteUrl", func(c *events.Company) **string { return &c.WebsiteURL }},
	{"industry", func(c *events.Company) **string { return &c.Industry }},
	{"description", func(c *events.Company) **string { return &c.Description }},
	{"primaryEmail", func(c *events.Company) **string { return &c.PrimaryEmail }},
	{"primaryPhone", func(c *events.Company) **string { return &c.PrimaryPhone }},
}

func (f companyField) get(c *events.Company) *string {
	if f.ref == nil {
		return &c.DisplayName
	}
	return *f.ref(c)
}

func (f companyField) set(c *events.Company, v *string) {
	if f.ref == nil {
		if v != nil {
			c.DisplayName = *v
		}
		return
	}
	*f.ref(c) = v
}

// MergeCompany resolves an incoming Oro version of a company against Mercato's current values and the last synced
// snapshot with the same policies as MergePerson. It returns the values to write (Oro's for what the rules give
// Oro, and Oro's addresses and extras) and the fields left for review (which keep Mercato's value meanwhile).
func MergeCompany(rules Policies, incoming, local, base events.Company, oroNewer bool) (events.Company, []string) {
	out := incoming
	var review []string
	eq := func(x, y *string) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	for _, f := range CompanyFields {
		o, l, b := f.get(&incoming), f.get(&local), f.get(&base)
		v := o
		switch p := rules.of(f.name); {
		case eq(o, l), p == OroWins:
		case p == MercatoWins:
			v = l
		case p == LastWriteWins:
			if !oroNewer {
				v = l
			}
		case eq(l, b): // merge: only Oro changed it
		case eq(o, b): // merge: only Mercato changed it
			v = l
		default:
			v = l
			review = append(review, f.name)
		}
		if v != nil {
			x := *v
			v = &x
		}
		f.set(&out, v)
	}
	return out, review
}

// TakeCompanyFields returns local with the named fields taken from incoming (resolving a field-merge for Oro).
func TakeCompanyFields(local, incoming events.Company, fields []string) events.Company {
	out := local
	for _, f := range CompanyFields {
		for _, name := range fields {
			if f.name == name {
				f.set(&out, f.get(&incoming))
			}
		}
	}
	return out
}
