package rowkit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/orosync/orosync/events"
)

// fuzzPerson builds a person from a, b, c, setting the optional parts bit by bit of shape.
func fuzzPerson(a, b, c string, shape uint32) *events.Person {
	opt := func(bit uint, s string) *string {
		if shape&(1<<bit) == 0 {
			return nil
		}
		return &s
	}
	p := &events.Person{DisplayName: a, PrimaryEmail: opt(0, b), PrimaryPhone: opt(1, c), FirstName: opt(2, a), LastName: opt(3, b+c),
		JobTitle: opt(4, c), LifecycleStage: opt(5, a+b), Description: opt(6, c+a)}
	if shape&(1<<7) != 0 {
		p.Emails = []string{a, b}
	}
	if shape&(1<<8) != 0 {
		p.Phones = []string{c}
	}
	if shape&(1<<9) != 0 {
		p.Emails = []string{} // empty, not nil: omitted as well
	}
	if shape&(1<<10) != 0 {
		p.CompanyLinks = []events.CompanyLink{{Company: events.OroRef{Type: a, ID: b}, IsPrimary: true}, {Company: events.OroRef{Type: c}}}
	}
	if shape&(1<<11) != 0 {
		p.Owner = &events.OroRef{Type: b, ID: c}
	}
	if shape&(1<<12) != 0 {
		p.CustomFields = map[string]any{a: b, "n": 1.5, "l": []any{c, nil}}
	}
	if shape&(1<<13) != 0 {
		p.Related = []events.RelatedRef{{}}
	}
	if shape&(1<<14) != 0 {
		p.Addresses = []events.Address{{AddressLine1: &a, City: opt(1, c), IsPrimary: true}}
	}
	if shape&(1<<15) != 0 {
		p.CompanyLinks = []events.CompanyLink{}
	}
	p.LinkedInURL, p.TwitterURL, p.Source, p.Status = opt(16, "https://"+a), opt(17, b), opt(18, c), opt(19, a+c)
	return p
}

func checkPersonJSON(t *testing.T, v any) {
	t.Helper()
	got, err := MarshalJSON(v)
	want, wantErr := json.Marshal(v)
	if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
		t.Errorf("MarshalJSON(%#v) = %s, %v\njson.Marshal gives %s, %v", v, got, err, want, wantErr)
	}
}

func TestPersonSnapshotJSONIsWhatEncodingJSONWrites(t *testing.T) {
	checkPersonJSON(t, (*events.Person)(nil))
	checkPersonJSON(t, &events.Person{})
	checkPersonJSON(t, events.Person{DisplayName: "value, not pointer"})
	for _, s := range oddStrings {
		for _, shape := range []uint32{0, 0xfffff, 0x0fff, 0x07ff, 0x55555, 0xaaaaa, 1 << 12, 1 << 14, 0xf0000} {
			checkPersonJSON(t, fuzzPerson(s, s+"x", "<"+s+">", shape))
		}
	}
}

func FuzzPersonSnapshotJSONIsWhatEncodingJSONWrites(f *testing.F) {
	for _, s := range oddStrings {
		f.Add(s, "b@example.com", "+1 555", uint32(0x0fff))
	}
	f.Fuzz(func(t *testing.T, a, b, c string, shape uint32) {
		checkPersonJSON(t, fuzzPerson(a, b, c, shape))
	})
}

func checkPersonDecode(t *testing.T, raw []byte) {
	t.Helper()
	var got, want events.Person
	err := decodePerson(raw, &got)
	wantErr := json.Unmarshal(raw, &want)
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("decodePerson(%s): error %v, json.Unmarshal: %v", raw, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decodePerson(%s) = %#v\njson.Unmarshal gives %#v", raw, got, want)
	}
}

func TestPersonSnapshotDecodingIsWhatEncodingJSONReads(t *testing.T) {
	for _, s := range oddStrings {
		for _, shape := range []uint32{0, 0xfffff, 0x0fff, 0x07ff, 0x55555, 0xaaaaa, 1 << 12, 1 << 14, 0xf0000} {
			raw, err := json.Marshal(fuzzPerson(s, s+"x", "<"+s+">", shape))
			if err != nil {
				t.Fatal(err)
			}
			checkPersonDecode(t, raw)
		}
	}
	for _, raw := range []string{
		// as jsonb prints it: keys by length, a space after colons and commas
		`{"jobTitle": "Engineer", "lastName": "Last", "firstName": "First1", "displayName": "First1 Last", "primaryEmail": "1@example.com", "primaryPhone": null, "companyLinks": [{"company": {"id": "a1", "type": "accounts"}, "isPrimary": true}]}`,
		`null`, `{}`, `[]`, `{"displayName": null}`, `{"displayname": "case"}`, `{"firstName": "a", "firstName": "b"}`,
		`{"companyLinks": [{"company": {"id": "a"}, "company": {"type": "b"}}]}`, `{"emails": ["a"], "emails": []}`,
		`{"emails": null}`, `{"companyLinks": []}`, `{"companyLinks": [{}]}`, `{"owner": {"type": "users", "id": "1"}}`,
		`{"displayName": "x"} trailing`, `{"displayName": "a\"b"}`, `{"displayName": "\u00e9"}`, "{\"displayName\": \"\xff\"}",
		`{"displayName": "x",}`, `{"isPrimary": true}`, ` { "jobTitle" : null } `, `{"companyLinks": [{"isPrimary": nul}]}`, ``,
	} {
		checkPersonDecode(t, []byte(raw))
	}
}

func FuzzPersonSnapshotDecodingIsWhatEncodingJSONReads(f *testing.F) {
	f.Add([]byte(`{"jobTitle": "Engineer", "lastName": "Last", "companyLinks": [{"company": {"id": "a1", "type": "accounts"}, "isPrimary": true}]}`))
	f.Add([]byte(`{"displayName":"a","emails":["x","y"],"phones":[],"primaryEmail":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkPersonDecode(t, raw)
	})
}
