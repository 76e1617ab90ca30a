package rowkit

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"
	"strconv"
	"testing"

	"github.com/google/uuid"

	"github.com/orosync/orosync/services/writer/domain"
)

// referenceID is the documented layout, built with the uuid and hash/fnv packages: FNV-1a of the kind (the
// name without the Oro id, role appended) in bytes 0-1, the Oro id (when a number of at most 32 bits) in bytes
// 2-5, uuid.NewSHA1 of the whole name in the rest, version 8.
func referenceID(kind, name string, oroID string) uuid.UUID {
	u := uuid.NewSHA1(idNamespace, []byte(name))
	h := fnv.New32a()
	_, _ = h.Write([]byte(kind))
	sum := h.Sum32()
	u[0], u[1] = byte(sum>>24), byte(sum>>16)
	if n, err := strconv.ParseUint(oroID, 10, 32); err == nil && strconv.FormatUint(n, 10) == oroID {
		binary.BigEndian.PutUint32(u[2:6], uint32(n))
	}
	u[6] = u[6]&0x0f | 0x80
	return u
}

func referenceIDs(sc Scope, k domain.Key, person, company uuid.UUID) (entity, profile, mapping, link uuid.UUID) {
	scope := sc.TenantID.String() + "/" + sc.OrganizationID.String() + "/"
	name := scope + k.SourceType + "/" + k.SourceID
	kind := scope + k.SourceType + "/"
	link = referenceID(scope+"link/", scope+"link/"+person.String()+"/"+company.String(), "0")
	copy(link[2:6], person[2:6])
	return referenceID(kind+"/entity", name+"/entity", k.SourceID), referenceID(kind+"/profile", name+"/profile", k.SourceID),
		referenceID(kind+"/mapping", name+"/mapping", k.SourceID), link
}

// ids are a record's entity and profile ids, as RecordIDs returns them.
type ids struct{ entity, profile uuid.UUID }

func newIDs(sc Scope, k domain.Key) ids {
	e, p := RecordIDs(sc, k)
	return ids{e, p}
}

func checkIDs(t *testing.T, sc Scope, k domain.Key, person, company uuid.UUID) {
	t.Helper()
	entity, profile, mapping, link := referenceIDs(sc, k, person, company)
	got := newIDs(sc, k)
	if got.entity != entity || got.profile != profile {
		t.Errorf("RecordIDs(%v, %q) = %v, want %v %v", sc, k, got, entity, profile)
	}
	if m := MappingID(sc, k); m != mapping {
		t.Errorf("MappingID(%v, %q) = %v, want %v", sc, k, m, mapping)
	}
	if l := LinkID(sc, person, company); l != link {
		t.Errorf("LinkID(%v, %v, %v) = %v, want %v", sc, person, company, l, link)
	}
	if s := string(AppendUUID(nil, person)); s != person.String() {
		t.Errorf("AppendUUID(%v) = %s", person, s)
	}
}

func TestDerivedIDsFollowTheDocumentedLayout(t *testing.T) {
	sc := Scope{TenantID: uuid.New(), OrganizationID: uuid.New()}
	long := string(make([]byte, 400)) // longer than the stack buffers
	for _, k := range []domain.Key{{Tenant: "acme", SourceType: "contact", SourceID: "1"}, {SourceType: "", SourceID: ""},
		{SourceType: "account", SourceID: "ü/ß\x00"},
		{SourceType: "contact", SourceID: "4294967295"}, {SourceType: "contact", SourceID: "4294967296"}, {SourceType: "contact", SourceID: "007"},
		{SourceType: "contact", SourceID: "-1"}, {SourceType: "contact", SourceID: "0"}, {SourceType: "contact", SourceID: long}, {SourceType: long, SourceID: long}} {
		checkIDs(t, sc, k, uuid.New(), uuid.New())
	}
	checkIDs(t, Scope{}, domain.Key{SourceType: "contact", SourceID: "7"}, uuid.Nil, uuid.Max)
}

func FuzzDerivedIDsFollowTheDocumentedLayout(f *testing.F) {
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

func TestIDsOfOneKindSortByOroID(t *testing.T) {
	sc := Scope{TenantID: uuid.MustParse("8d3f2a4e-9c1b-4e5d-a6f7-0b1c2d3e4f50"), OrganizationID: uuid.MustParse("1a2b3c4d-5e6f-4a0b-8c1d-2e3f4a5b6c7d")}
	company := newIDs(sc, domain.Key{SourceType: "account", SourceID: "3"}).entity
	var prev ids
	var prevMapping, prevLink uuid.UUID
	for i := 1; i <= 100_000; i += 7 {
		k := domain.Key{SourceType: "contact", SourceID: strconv.Itoa(i)}
		id, m := newIDs(sc, k), MappingID(sc, k)
		l := LinkID(sc, id.entity, company)
		if i > 1 && (bytes.Compare(prev.entity[:], id.entity[:]) >= 0 || bytes.Compare(prev.profile[:], id.profile[:]) >= 0 ||
			bytes.Compare(prevMapping[:], m[:]) >= 0 || bytes.Compare(prevLink[:], l[:]) >= 0) {
			t.Fatalf("contact %d's ids do not sort after contact %d's", i, i-7)
		}
		if id.entity[6]>>4 != 8 || id.entity[8]>>6 != 2 {
			t.Fatalf("contact %d: %v is not a version 8, RFC 9562 variant UUID", i, id.entity)
		}
		prev, prevMapping, prevLink = id, m, l
	}
	// The kinds are apart: a contact's entity and profile, and a contact and an account with the same Oro id.
	a, c := newIDs(sc, domain.Key{SourceType: "account", SourceID: "9"}), newIDs(sc, domain.Key{SourceType: "contact", SourceID: "9"})
	if kind := func(u uuid.UUID) [2]byte { return [2]byte(u[:2]) }; kind(a.entity) == kind(c.entity) || kind(c.entity) == kind(c.profile) {
		t.Errorf("kinds share a prefix: %v %v %v", a.entity, c.entity, c.profile)
	}
}
