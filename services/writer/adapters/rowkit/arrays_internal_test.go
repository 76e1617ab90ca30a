package rowkit

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// encodeBoth encodes a column type and the plain slice pgx knows, in both formats pgx may pick, and fails on a
// difference: the column types must send exactly what the plain slices sent.
func encodeBoth(t *testing.T, oid uint32, col, plain any) {
	t.Helper()
	m := pgtype.NewMap()
	for _, format := range []int16{pgtype.BinaryFormatCode, pgtype.TextFormatCode} {
		got, err := m.Encode(oid, format, col, nil)
		if err != nil {
			t.Fatalf("format %d: encoding %T: %v", format, col, err)
		}
		want, err := m.Encode(oid, format, plain, nil)
		if err != nil {
			t.Fatalf("format %d: encoding %T: %v", format, plain, err)
		}
		if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
			t.Errorf("format %d: %T encodes to %x, %T to %x", format, col, got, plain, want)
		}
	}
}

func TestColumnArraysEncodeAsThePlainSlicesDo(t *testing.T) {
	a, b := uuid.MustParse("6f1f3a4e-0b8c-5d2e-9a47-3c1b2d0e8f55"), uuid.New()
	s1, s2 := "Zoë \"Q\", {x}", ""
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 678912000, time.FixedZone("x", 3600))
	t2 := time.Now()
	for _, ids := range [][]uuid.UUID{nil, {}, {a}, {a, b, a}} {
		want := make([][16]byte, len(ids))
		for i, x := range ids {
			want[i] = x
		}
		encodeBoth(t, pgtype.UUIDArrayOID, UUIDs(ids), want)
	}
	for _, ids := range [][]*uuid.UUID{nil, {}, {nil}, {&a, nil, &b}} {
		want := make([]pgtype.UUID, len(ids))
		for i, x := range ids {
			if x != nil {
				want[i] = pgtype.UUID{Bytes: *x, Valid: true}
			}
		}
		encodeBoth(t, pgtype.UUIDArrayOID, OptUUIDs(ids), want)
	}
	for _, xs := range [][]string{nil, {}, {s1}, {s1, s2, "NULL", "a\\b"}} {
		encodeBoth(t, pgtype.TextArrayOID, Texts(xs), xs)
	}
	for _, xs := range [][]*string{nil, {}, {nil}, {&s1, nil, &s2}} {
		encodeBoth(t, pgtype.TextArrayOID, OptTexts(xs), xs)
	}
	for _, xs := range [][]time.Time{nil, {}, {t1}, {t1, t2, {}}} {
		encodeBoth(t, pgtype.TimestamptzArrayOID, Times(xs), xs)
	}
	for _, xs := range [][]*time.Time{nil, {}, {nil}, {&t1, nil, &t2}} {
		encodeBoth(t, pgtype.TimestamptzArrayOID, OptTimes(xs), xs)
	}
}
