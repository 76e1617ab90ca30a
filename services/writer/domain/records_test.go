package domain

import (
	"slices"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
)

func TestRecordVersionsFoldToTheSameStateWhateverOrderTheyArriveIn(t *testing.T) {
	at := func(sec int, hash string) events.SourceVersion {
		return events.SourceVersion{UpdatedAt: time.Unix(int64(sec), 0).UTC(), PayloadHash: hash}
	}
	deal := func(sec int, title string) events.Change {
		return events.Change{Tenant: "acme", Op: events.OpUpsert, Aggregate: events.AggregateDeal,
			Source: events.RecordRef{Tenant: "acme", Type: "opportunities", ID: "1"}, SourceVersion: at(sec, title),
			MappingVersion: "m1", Deal: &events.Deal{Title: title}}
	}
	tomb := deal(20, "tomb")
	tomb.Op, tomb.Deal = events.OpDelete, nil
	payload := func(c events.Change) *events.Deal { return c.Deal }
	for name, tc := range map[string]struct {
		changes []events.Change
		title   string
		deleted bool
	}{
		"versions":                         {[]events.Change{deal(10, "a"), deal(30, "c"), deal(20, "b")}, "c", false},
		"tombstone ends the record":        {[]events.Change{deal(10, "a"), tomb, deal(15, "b")}, "b", true},
		"a newer version brings it back":   {[]events.Change{deal(10, "a"), tomb, deal(30, "c")}, "c", false},
		"tombstone alone, then old values": {[]events.Change{tomb, deal(10, "a")}, "a", true},
	} {
		want := PlanRecords(nil, tc.changes, payload)
		if len(want) != 1 || want[0].After.Value.Title != tc.title || want[0].After.Deleted != tc.deleted {
			t.Errorf("%s: %+v", name, want)
			continue
		}
		// One change at a time, in reverse, lands on the same state.
		stored := map[Key]*RecordStored[events.Deal]{}
		rev := slices.Clone(tc.changes)
		slices.Reverse(rev)
		for _, c := range rev {
			for _, o := range PlanRecords(stored, []events.Change{c}, payload) {
				after := o.After
				stored[o.Key] = &after
			}
		}
		for _, st := range stored {
			if st.Value.Title != tc.title || st.Deleted != tc.deleted || st.Version != want[0].After.Version {
				t.Errorf("%s one at a time in reverse: %+v, want %+v", name, *st, want[0].After)
			}
		}
	}
}
