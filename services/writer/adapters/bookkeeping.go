package adapters

import (
	"bytes"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

// sameBookkeeping says whether an applied outcome leaves orosync_records as it is but for the mapping version: a
// replay under a new mapping whose values come out the same. Its row is then not rewritten (a replay rewrites
// only what its mapping changed); the record keeps the mapping version that last changed it, and a later
// delivery under the new mapping is again compared value by value, and again writes nothing.
func sameBookkeeping(v, w events.SourceVersion, deleted, nowDeleted bool, upTo, nowUpTo *events.SourceVersion, base, nowBase any) bool {
	b, err := rowkit.MarshalJSON(nowBase)
	return err == nil && sameBookkeepingJSON(v, w, deleted, nowDeleted, upTo, nowUpTo, base, b)
}

// sameBookkeepingJSON is sameBookkeeping with the JSON of the new base already made.
func sameBookkeepingJSON(v, w events.SourceVersion, deleted, nowDeleted bool, upTo, nowUpTo *events.SourceVersion, base any,
	nowBase []byte) bool {
	if v != w || deleted != nowDeleted || (upTo == nil) != (nowUpTo == nil) || (upTo != nil && *upTo != *nowUpTo) {
		return false
	}
	a, err := rowkit.MarshalJSON(base)
	return err == nil && bytes.Equal(a, nowBase)
}

// endAt and endHash are the columns of the version a tombstone ended a record at (NULL: none).
func endAt(v *events.SourceVersion) *time.Time {
	if v == nil {
		return nil
	}
	t := v.UpdatedAt
	return &t
}

func endHash(v *events.SourceVersion) *string {
	if v == nil {
		return nil
	}
	h := v.PayloadHash
	return &h
}
