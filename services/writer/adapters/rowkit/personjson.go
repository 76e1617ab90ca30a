package rowkit

import (
	"encoding/json"

	"github.com/orosync/orosync/events"
)

// MarshalJSON is json.Marshal(v), with the person snapshot (written for every contact, and compared twice on a
// replay) appended by hand, without encoding/json's reflection. Persons
// carrying custom fields, related records or addresses, rare, still go through encoding/json. Tests compare the
// two on random persons.
func MarshalJSON(v any) ([]byte, error) {
	if p, ok := v.(*events.Person); ok && simplePerson(p) {
		return appendPersonJSON(make([]byte, 0, personJSONSize(p)), p), nil
	}
	return json.Marshal(v)
}

func simplePerson(p *events.Person) bool {
	return p == nil || (len(p.Addresses) == 0 && len(p.CustomFields) == 0 && len(p.Related) == 0)
}

// personJSONSize is room enough for a person without escapes.
func personJSONSize(p *events.Person) int {
	if p == nil {
		return 4
	}
	n := 100 + len(p.DisplayName) // the keys always written, their punctuation and nulls
	for _, s := range []*string{p.PrimaryEmail, p.PrimaryPhone, p.FirstName, p.LastName, p.JobTitle} {
		if s != nil {
			n += len(*s) + 2
		}
	}
	for _, s := range []*string{p.LifecycleStage, p.Description, p.LinkedInURL, p.TwitterURL, p.Source, p.Status} {
		if s != nil {
			n += len(*s) + 20
		}
	}
	for _, s := range p.Emails {
		n += len(s) + 3
	}
	for _, s := range p.Phones {
		n += len(s) + 3
	}
	n += 20
	for _, l := range p.CompanyLinks {
		n += len(l.Company.Type) + len(l.Company.ID) + 50
	}
	if p.Owner != nil {
		n += len(p.Owner.Type) + len(p.Owner.ID) + 30
	}
	return n
}

// appendPersonJSON appends what json.Marshal writes of a person with no addresses, custom fields nor related
// records.
func appendPersonJSON(b []byte, p *events.Person) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"displayName":"`...)
	b = append(events.AppendJSONStringBody(b, p.DisplayName), '"')
	b = appendJSONPtr(append(b, `,"primaryEmail":`...), p.PrimaryEmail)
	b = appendJSONPtr(append(b, `,"primaryPhone":`...), p.PrimaryPhone)
	b = appendJSONPtr(append(b, `,"firstName":`...), p.FirstName)
	b = appendJSONPtr(append(b, `,"lastName":`...), p.LastName)
	b = appendJSONPtr(append(b, `,"jobTitle":`...), p.JobTitle)
	if p.LifecycleStage != nil {
		b = appendJSONPtr(append(b, `,"lifecycleStage":`...), p.LifecycleStage)
	}
	for _, f := range [...]struct {
		key string
		v   *string
	}{{`,"description":`, p.Description}, {`,"linkedInUrl":`, p.LinkedInURL}, {`,"twitterUrl":`, p.TwitterURL},
		{`,"source":`, p.Source}, {`,"status":`, p.Status}} {
		if f.v != nil {
			b = appendJSONPtr(append(b, f.key...), f.v)
		}
	}
	if len(p.Emails) > 0 {
		b = appendJSONStrings(append(b, `,"emails":`...), p.Emails)
	}
	if len(p.Phones) > 0 {
		b = appendJSONStrings(append(b, `,"phones":`...), p.Phones)
	}
	if len(p.CompanyLinks) > 0 {
		b = append(b, `,"companyLinks":[`...)
		for i, l := range p.CompanyLinks {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendOroRef(append(b, `{"company":`...), l.Company)
			if l.IsPrimary {
				b = append(b, `,"isPrimary":true}`...)
			} else {
				b = append(b, `,"isPrimary":false}`...)
			}
		}
		b = append(b, ']')
	}
	if p.Owner != nil {
		b = appendOroRef(append(b, `,"owner":`...), *p.Owner)
	}
	return append(b, '}')
}

func appendJSONPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	return append(events.AppendJSONStringBody(b, *s), '"')
}

func appendJSONStrings(b []byte, xs []string) []byte {
	b = append(b, '[')
	for i, s := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(events.AppendJSONStringBody(b, s), '"')
	}
	return append(b, ']')
}

func appendOroRef(b []byte, r events.OroRef) []byte {
	b = append(b, `{"type":"`...)
	b = events.AppendJSONStringBody(b, r.Type)
	b = append(b, `","id":"`...)
	b = events.AppendJSONStringBody(b, r.ID)
	return append(b, `"}`...)
}
