package rowkit

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/orosync/orosync/events"
)

// decodePerson is json.Unmarshal(raw, p) of a person snapshot into a zero p. A batch that updates or replays
// 1,000 contacts decodes 1,000 snapshots, and encoding/json's reflection was the largest part of the writer's
// own CPU there; snapshots of the usual shape (the keys of a person, strings without escapes, company links)
// are read by hand, anything else by encoding/json. Tests compare the two on random input.
func decodePerson(raw []byte, p *events.Person) error {
	d := personDecoder{b: raw}
	if d.person(p) {
		return nil
	}
	*p = events.Person{}
	return json.Unmarshal(raw, p)
}

// personDecoder reads a JSON document; each method reports false on anything it does not handle, which is then
// left to encoding/json.
type personDecoder struct {
	b []byte
	i int
}

func (d *personDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c, consuming it if so.
func (d *personDecoder) next(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *personDecoder) literal(s string) bool {
	d.ws()
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}

// UUIDs returns the bytes of a string without escapes, control characters nor invalid UTF-8.
func (d *personDecoder) raw() ([]byte, bool) {
	if !d.next('"') {
		return nil, false
	}
	for j := d.i; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			v := d.b[d.i:j]
			d.i = j + 1
			return v, utf8.Valid(v)
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

func (d *personDecoder) str() (string, bool) {
	v, ok := d.raw()
	return string(v), ok
}

// optStr reads a string or null.
func (d *personDecoder) optStr() (*string, bool) {
	if d.literal("null") {
		return nil, true
	}
	s, ok := d.str()
	if !ok {
		return nil, false
	}
	return &s, true
}

func (d *personDecoder) bool() (bool, bool) {
	if d.literal("true") {
		return true, true
	}
	return false, d.literal("false")
}

// object reads an object, calling field for each key (positioned at its value). keys are the ones field reads:
// another key, or one twice (encoding/json merges the two values), is left to encoding/json.
func (d *personDecoder) object(keys []string, field func(key int) bool) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	var seen uint32
	for {
		k, ok := d.raw()
		if !ok || !d.next(':') {
			return false
		}
		i := 0
		for i < len(keys) && keys[i] != string(k) {
			i++
		}
		if i == len(keys) || seen&(1<<i) != 0 || !field(i) {
			return false
		}
		seen |= 1 << i
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// array reads an array, calling elem for each element.
func (d *personDecoder) array(elem func() bool) bool {
	if !d.next('[') {
		return false
	}
	if d.next(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.next(']') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

func (d *personDecoder) strings() ([]string, bool) {
	out := []string{}
	ok := d.array(func() bool {
		s, ok := d.str()
		out = append(out, s)
		return ok
	})
	return out, ok
}

var oroRefKeys = []string{"type", "id"}

func (d *personDecoder) oroRef(r *events.OroRef) bool {
	return d.object(oroRefKeys, func(k int) bool {
		var ok bool
		if k == 0 {
			r.Type, ok = d.str()
		} else {
			r.ID, ok = d.str()
		}
		return ok
	})
}

var (
	personKeys = []string{"displayName", "primaryEmail", "primaryPhone", "firstName", "lastName", "jobTitle", "lifecycleStage",
		"description", "emails", "phones", "companyLinks", "linkedInUrl", "twitterUrl", "source", "status"}
	companyLinkKeys = []string{"company", "isPrimary"}
)

func (d *personDecoder) person(p *events.Person) bool {
	ok := d.object(personKeys, func(k int) bool {
		var ok bool
		switch k {
		case 0:
			p.DisplayName, ok = d.str()
		case 1:
			p.PrimaryEmail, ok = d.optStr()
		case 2:
			p.PrimaryPhone, ok = d.optStr()
		case 3:
			p.FirstName, ok = d.optStr()
		case 4:
			p.LastName, ok = d.optStr()
		case 5:
			p.JobTitle, ok = d.optStr()
		case 6:
			p.LifecycleStage, ok = d.optStr()
		case 7:
			p.Description, ok = d.optStr()
		case 8:
			p.Emails, ok = d.strings()
		case 9:
			p.Phones, ok = d.strings()
		case 10:
			links := []events.CompanyLink{}
			ok = d.array(func() bool {
				var l events.CompanyLink
				ok := d.object(companyLinkKeys, func(k int) bool {
					if k == 0 {
						return d.oroRef(&l.Company)
					}
					var ok bool
					l.IsPrimary, ok = d.bool()
					return ok
				})
				links = append(links, l)
				return ok
			})
			p.CompanyLinks = links
		case 11:
			p.LinkedInURL, ok = d.optStr()
		case 12:
			p.TwitterURL, ok = d.optStr()
		case 13:
			p.Source, ok = d.optStr()
		case 14:
			p.Status, ok = d.optStr()
		}
		return ok
	})
	d.ws()
	return ok && d.i == len(d.b)
}
