package rowkit

import (
	"crypto/sha1"

	"github.com/google/uuid"

	"github.com/orosync/orosync/services/writer/domain"
)

// idNamespace makes orosync's ids deterministic: the same Oro record always gets the same Mercato ids, so a
// rebuilt database (or a replay into an empty one) is identical row for row.
var idNamespace = uuid.MustParse("6f1f3a4e-0b8c-5d2e-9a47-3c1b2d0e8f55")

// The SHA-1 bits of the ids are those of uuid.NewSHA1(idNamespace, name), computed here on a stack buffer:
// uuid.NewSHA1 allocates its hash and its sum, and the names were built by string concatenation (with a
// uuid.String per uuid in them), several allocations per id and a few ids per record.

// NameID is uuid.NewSHA1(idNamespace, name).
func NameID(name []byte) uuid.UUID {
	var buf [320]byte
	sum := sha1.Sum(append(append(buf[:0], idNamespace[:]...), name...))
	var u uuid.UUID
	copy(u[:], sum[:])
	u[6] = (u[6] & 0x0f) | 0x50 // version 5
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return u
}

// AppendUUID appends u as uuid.UUID.String writes it.
func AppendUUID(b []byte, u uuid.UUID) []byte {
	const digits = "0123456789abcdef"
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, digits[x>>4], digits[x&0xf])
	}
	return b
}

// AppendScope appends "<tenant id>/<organization id>/".
func AppendScope(b []byte, sc Scope) []byte {
	b = AppendUUID(b, sc.TenantID)
	b = append(b, '/')
	b = AppendUUID(b, sc.OrganizationID)
	return append(b, '/')
}

// appendRecordName appends the name a record's ids derive from: "<tenant>/<organization>/<Oro type>/<Oro id>".
func appendRecordName(b []byte, sc Scope, k domain.Key) []byte {
	b = AppendScope(b, sc)
	b = append(b, k.SourceType...)
	b = append(b, '/')
	return append(b, k.SourceID...)
}

// RecordIDs are the ids of a record's Mercato rows: its entity (customer_entities, or the row of a record
// aggregate) and its profile (customer_people, customer_companies).
func RecordIDs(sc Scope, k domain.Key) (entity, profile uuid.UUID) {
	var buf [160]byte
	name := appendRecordName(buf[:0], sc, k)
	n, kind := len(name), len(name)-len(k.SourceID)
	ord, isNum := ordinal(k.SourceID)
	entity = orderedID(append(name, "/entity"...), kind, n, ord, isNum)
	return entity, orderedID(append(name[:n], "/profile"...), kind, n, ord, isNum)
}

// ExternalID is the record's sync_external_id_mappings.external_id: "<Oro type>:<Oro id>" (contacts:42, leads:42).
// Oro types share ids (contacts and leads both become people, accounts and b2b customers companies, tasks, calls,
// emails and cases interactions), and Mercato resolves one record per (integration, Mercato type, external id)
// (data_sync/lib/id-mapping.ts); the Oro type also lets an integration link the id to its Oro page.
func ExternalID(k domain.Key) string { return k.SourceType + ":" + k.SourceID }

// MappingID is the id of the record's sync_external_id_mappings row.
func MappingID(sc Scope, k domain.Key) uuid.UUID {
	var buf [160]byte
	name := appendRecordName(buf[:0], sc, k)
	n := len(name)
	ord, isNum := ordinal(k.SourceID)
	return orderedID(append(name, "/mapping"...), n-len(k.SourceID), n, ord, isNum)
}

// LinkID sorts by the person's Oro id.
func LinkID(sc Scope, person, company uuid.UUID) uuid.UUID {
	var buf [160]byte
	b := append(AppendScope(buf[:0], sc), "link/"...)
	kind := len(b)
	b = append(AppendUUID(b, person), '/')
	ord := uint32(person[2])<<24 | uint32(person[3])<<16 | uint32(person[4])<<8 | uint32(person[5])
	b = AppendUUID(b, company)
	return orderedID(b, kind, len(b), ord, true)
}

// ordinal is a numeric Oro id (Oro's ids are auto-increment integers) that fits 32 bits.
func ordinal(id string) (uint32, bool) {
	if id == "" || len(id) > 10 || (len(id) > 1 && id[0] == '0') {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > 1<<32-1 {
		return 0, false
	}
	return uint32(v), true
}

// orderedID is a version 8 UUID: 16 bits naming the id's kind (FNV-1a of the name without its Oro id, role
// included: tenant, organization, Oro type, "/entity"), the Oro id's 32 bits (for links, the person's), then 74
// bits of the name's SHA-1 (unique as a v5 id is). Ids of one kind sort by Oro id, and a sync runs in Oro id
// order: rows append to Mercato's id indexes instead of each dirtying a random leaf page of each of them. A name
// whose Oro id is not a number gets SHA-1 bits in its place.
func orderedID(name []byte, kindEnd, roleStart int, ord uint32, numeric bool) uuid.UUID {
	u := NameID(name)
	h := uint32(2166136261)
	for _, c := range name[:kindEnd] {
		h = (h ^ uint32(c)) * 16777619
	}
	for _, c := range name[roleStart:] {
		h = (h ^ uint32(c)) * 16777619
	}
	u[0], u[1] = byte(h>>24), byte(h>>16)
	if numeric {
		u[2], u[3], u[4], u[5] = byte(ord>>24), byte(ord>>16), byte(ord>>8), byte(ord)
	}
	u[6] = (u[6] & 0x0f) | 0x80 // version 8
	return u
}
