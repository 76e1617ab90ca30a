package adapters

import (
	"testing"

	"github.com/google/uuid"

	"github.com/orosync/orosync/services/writer/domain"
)

// The ids as they were first derived (uuid.NewSHA1 of concatenated strings): rows already written carry them.
func referenceIDs(sc Scope, k domain.Key, person, company uuid.UUID) (entity, profile, mapping, link uuid.UUID) {
	name := sc.TenantID.String() + "/" + sc.OrganizationID.String() + "/" + k.SourceType + "/" + k.SourceID
	return uuid.NewSHA1(idNamespace, []byte(name+"/entity")), uuid.NewSHA1(idNamespace, []byte(name+"/profile")),
		uuid.NewSHA1(idNamespace, []byte(name+"/mapping")),
		uuid.NewSHA1(idNamespace, []byte(sc.TenantID.String()+"/"+sc.OrganizationID.String()+"/link/"+person.String()+"/"+company.String()))
}

func checkIDs(t *testing.T, sc Scope, k domain.Key, person, company uuid.UUID) {
	t.Helper()
	entity, profile, mapping, link := referenceIDs(sc, k, person, company)
	got := newIDs(sc, k)
	if got.entity != entity || got.profile != profile {
		t.Errorf("newIDs(%v, %q) = %v, want %v %v", sc, k, got, entity, profile)
	}
	if m := mappingID(sc, k); m != mapping {
		t.Errorf("mappingID(%v, %q) = %v, want %v", sc, k, m, mapping)
	}
	if l := linkID(sc, person, company); l != link {
		t.Errorf("linkID(%v, %v, %v) = %v, want %v", sc, person, company, l, link)
	}
	if s := string(appendUUID(nil, person)); s != person.String() {
		t.Errorf("appendUUID(%v) = %s", person, s)
	}
}

func TestDerivedIDsAreTheOnesNewSHA1OfTheNameGives(t *testing.T) {
	sc := Scope{TenantID: uuid.New(), OrganizationID: uuid.New()}
	long := string(make([]byte, 400)) // longer than the stack buffers
	for _, k := range []domain.Key{{Tenant: "acme", SourceType: "contact", SourceID: "1"}, {SourceType: "", SourceID: ""},
		{SourceType: "account", SourceID: "ü/ß\x00"}, {SourceType: "contact", SourceID: long}, {SourceType: long, SourceID: long}} {
		checkIDs(t, sc, k, uuid.New(), uuid.New())
	}
	checkIDs(t, Scope{}, domain.Key{SourceType: "contact", SourceID: "7"}, uuid.Nil, uuid.Max)
}

func FuzzDerivedIDsAreTheOnesNewSHA1OfTheNameGives(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef"), "contact", "42", []byte("0123456789abcdef0123456789abcdef"))
	f.Fuzz(func(t *testing.T, scope []byte, typ, id string, people []byte) {
		var sc Scope
		var person, company uuid.UUID
		copy(sc.TenantID[:], scope)
		if len(scope) > 16 {
			copy(sc.OrganizationID[:], scope[16:])
		}
		copy(person[:], people)
		if len(people) > 16 {
			copy(company[:], people[16:])
		}
		checkIDs(t, sc, domain.Key{SourceType: typ, SourceID: id}, person, company)
	})
}
