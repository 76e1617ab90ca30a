package adapters

import (
	"crypto/sha1"

	"github.com/google/uuid"

	"github.com/orosync/orosync/services/writer/domain"
)

// idNamespace makes orosync's ids deterministic: the same Oro record always gets the same Mercato ids, so a
// rebuilt database (or a replay into an empty one) is identical row for row.
var idNamespace = uuid.MustParse("6f1f3a4e-0b8c-5d2e-9a47-3c1b2d0e8f55")

// The ids are uuid.NewSHA1(idNamespace, name), computed here on a stack buffer: uuid.NewSHA1 allocates its hash
// and its sum, and the names were built by string concatenation (with a uuid.String per uuid in them), several
// allocations per id and a few ids per record.

// nameID is uuid.NewSHA1(idNamespace, name).
func nameID(name []byte) uuid.UUID {
	var buf [320]byte
	sum := sha1.Sum(append(append(buf[:0], idNamespace[:]...), name...))
	var u uuid.UUID
	copy(u[:], sum[:])
	u[6] = (u[6] & 0x0f) | 0x50 // version 5
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return u
}

// appendUUID appends u as uuid.UUID.String writes it.
func appendUUID(b []byte, u uuid.UUID) []byte {
	const digits = "0123456789abcdef"
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, digits[x>>4], digits[x&0xf])
	}
	return b
}

// appendScope appends "<tenant id>/<organization id>/".
func appendScope(b []byte, sc Scope) []byte {
	b = appendUUID(b, sc.TenantID)
	b = append(b, '/')
	b = appendUUID(b, sc.OrganizationID)
	return append(b, '/')
}

// appendRecordName appends the name a record's ids derive from: "<tenant>/<organization>/<Oro type>/<Oro id>".
func appendRecordName(b []byte, sc Scope, k domain.Key) []byte {
	b = appendScope(b, sc)
	b = append(b, k.SourceType...)
	b = append(b, '/')
	return append(b, k.SourceID...)
}

func newIDs(sc Scope, k domain.Key) ids {
	var buf [160]byte
	name := appendRecordName(buf[:0], sc, k)
	n := len(name)
	entity := nameID(append(name, "/entity"...))
	return ids{entity: entity, profile: nameID(append(name[:n], "/profile"...))}
}

func mappingID(sc Scope, k domain.Key) uuid.UUID {
	var buf [160]byte
	return nameID(append(appendRecordName(buf[:0], sc, k), "/mapping"...))
}

func linkID(sc Scope, person, company uuid.UUID) uuid.UUID {
	var buf [160]byte
	b := append(appendScope(buf[:0], sc), "link/"...)
	b = append(appendUUID(b, person), '/')
	return nameID(appendUUID(b, company))
}
