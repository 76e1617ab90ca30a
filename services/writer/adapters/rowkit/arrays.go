package rowkit

import (
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// Column arrays for the unnest statements, in forms pgx encodes without an allocation per element. pgx encodes a
// Go slice as a pgtype.FlatArray whose Index boxes every element into an interface (a uuid, a string header and a
// time.Time each cost an allocation, and a uuid.UUID went through its driver.Valuer as well); these types hand pgx
// a pointer into the slice instead, which boxes for free, typed so that pgx's own codec encodes the element
// through its fast path (UUIDValuer, TextValuer, TimestamptzValuer). The bytes sent are the same. A nil pointer
// element is NULL; a nil slice is a NULL array, as with a plain slice.

type (
	uuidElem [16]byte
	textElem string
	timeElem time.Time
)

func (u *uuidElem) UUIDValue() (pgtype.UUID, error) { return pgtype.UUID{Bytes: *u, Valid: true}, nil }

func (t *textElem) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: string(*t), Valid: true}, nil
}

func (t *timeElem) TimestamptzValue() (pgtype.Timestamptz, error) {
	return pgtype.Timestamptz{Time: time.Time(*t), Valid: true}, nil
}

func dimensions(n int, null bool) []pgtype.ArrayDimension {
	if null {
		return nil
	}
	return []pgtype.ArrayDimension{{Length: int32(n), LowerBound: 1}}
}

// UUIDCol is a uuid[] parameter.
type UUIDCol []uuid.UUID

func (a UUIDCol) Dimensions() []pgtype.ArrayDimension { return dimensions(len(a), a == nil) }
func (a UUIDCol) Index(i int) any                     { return (*uuidElem)(&a[i]) }
func (a UUIDCol) IndexType() any                      { return (*uuidElem)(nil) }

// OptUUIDCol is a uuid[] parameter with NULLs.
type OptUUIDCol []*uuid.UUID

func (a OptUUIDCol) Dimensions() []pgtype.ArrayDimension { return dimensions(len(a), a == nil) }
func (a OptUUIDCol) Index(i int) any                     { return (*uuidElem)(a[i]) }
func (a OptUUIDCol) IndexType() any                      { return (*uuidElem)(nil) }

// Texts is a text[] parameter.
type Texts []string

func (a Texts) Dimensions() []pgtype.ArrayDimension { return dimensions(len(a), a == nil) }
func (a Texts) Index(i int) any                     { return (*textElem)(&a[i]) }
func (a Texts) IndexType() any                      { return (*textElem)(nil) }

// OptTexts is a text[] parameter with NULLs.
type OptTexts []*string

func (a OptTexts) Dimensions() []pgtype.ArrayDimension { return dimensions(len(a), a == nil) }
func (a OptTexts) Index(i int) any                     { return (*textElem)(a[i]) }
func (a OptTexts) IndexType() any                      { return (*textElem)(nil) }

// Times is a timestamptz[] parameter.
type Times []time.Time

func (a Times) Dimensions() []pgtype.ArrayDimension { return dimensions(len(a), a == nil) }
func (a Times) Index(i int) any                     { return (*timeElem)(&a[i]) }
func (a Times) IndexType() any                      { return (*timeElem)(nil) }

// OptTimes is a timestamptz[] parameter with NULLs.
type OptTimes []*time.Time

func (a OptTimes) Dimensions() []pgtype.ArrayDimension { return dimensions(len(a), a == nil) }
func (a OptTimes) Index(i int) any                     { return (*timeElem)(a[i]) }
func (a OptTimes) IndexType() any                      { return (*timeElem)(nil) }

// UUIDs passes uuids as a uuid[] (uuid.UUID alone goes through driver.Valuer: a string per value, parsed back). It
// does not copy: the slice must not change until the statement is sent. A nil slice is an empty array.
func UUIDs(xs []uuid.UUID) UUIDCol {
	if xs == nil {
		return UUIDCol{}
	}
	return xs
}

// OptUUIDs passes optional uuids as a uuid[] with NULLs; like raw, never a NULL array.
func OptUUIDs(xs []*uuid.UUID) OptUUIDCol {
	if xs == nil {
		return OptUUIDCol{}
	}
	return xs
}

// AppendSized appends v to s, making room for n elements at the first append: a batch's rows are appended one
// outcome at a time, and a slice grown by doubling was allocated, and copied, about twice over.
func AppendSized[T any](s []T, n int, v T) []T {
	if s == nil {
		s = make([]T, 0, n)
	}
	return append(s, v)
}

// uuidDest scans a uuid column into a uuid.UUID without the string uuid.UUID's sql.Scanner goes through (pgx
// decodes the value to a string for it, which uuid then parses). NULL leaves it unchanged, as uuid.UUID.Scan does.
type uuidDest uuid.UUID

func (u *uuidDest) ScanUUID(v pgtype.UUID) error {
	if v.Valid {
		*u = v.Bytes
	}
	return nil
}

func ScanUUID(u *uuid.UUID) *uuidDest { return (*uuidDest)(u) }
