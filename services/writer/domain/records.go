package domain

import (
	"github.com/orosync/orosync/events"
)

// Record aggregates (deals, interactions, comments, merged b2b customers) are a single value per Oro record: what
// Mercato must hold is derived from the last applied version alone (oro-wins), so the planner only folds versions
// and tombstones; the adapter compares the result with Mercato's rows and emits the events.

// RecordStored is orosync's bookkeeping of one record aggregate before the batch.
type RecordStored[T any] struct {
	Version        events.SourceVersion
	MappingVersion string
	Deleted        bool
	// Missing: known from a tombstone only (no values yet).
	Missing     bool
	DeletedUpTo *events.SourceVersion
	// Value is the last applied Oro value (the snapshot).
	Value T
}

func (s *RecordStored[T]) lifecycle() lifecycle {
	return lifecycle{s.Version, s.MappingVersion, s.Deleted, s.Missing, s.DeletedUpTo}
}

// RecordOutcome is the state a batch leaves one record aggregate in.
type RecordOutcome[T any] struct {
	Key    Key
	Before *RecordStored[T]
	After  RecordStored[T]
	// Steps are the states the batch's applied changes led through, in order (After is the last), so a history
	// of values (a deal's stage transitions) is the same whether versions arrive one by one or in one batch.
	Steps []RecordStored[T]
}

// PlanRecords folds a batch of changes of one record aggregate with the version and tombstone rules every aggregate
// shares (lifecycle.go). payload picks the aggregate's value from a change (nil: not this aggregate's upsert).
// Records the batch leaves as they were are left out.
func PlanRecords[T any](stored map[Key]*RecordStored[T], changes []events.Change, payload func(events.Change) *T) []RecordOutcome[T] {
	keys, byKey := byRecord(changes)
	var out []RecordOutcome[T]
	for _, k := range keys {
		cs := byKey[k]
		o := RecordOutcome[T]{Key: k, Before: stored[k]}
		var cur *RecordStored[T]
		if o.Before != nil {
			c := *o.Before
			cur = &c
		}
		applied := false
		for _, c := range cs {
			if next, ok := applyRecord(cur, c, payload); ok {
				cur, applied = next, true
				o.Steps = append(o.Steps, *next)
			}
		}
		if applied {
			o.After = *cur
			out = append(out, o)
		}
	}
	return out
}

func applyRecord[T any](cur *RecordStored[T], c events.Change, payload func(events.Change) *T) (*RecordStored[T], bool) {
	switch c.Op {
	case events.OpUpsert:
		in := payload(c)
		if in == nil {
			return nil, false
		}
		next := &RecordStored[T]{Version: c.SourceVersion, MappingVersion: c.MappingVersion, Value: *in}
		if cur == nil {
			return next, true
		}
		switch decideUpsert(cur.lifecycle(), c) {
		case upsertSkip:
			return nil, false
		case upsertIntoTombstone:
			next.Deleted, next.DeletedUpTo = true, cur.DeletedUpTo
		}
		return next, true
	case events.OpDelete:
		if cur == nil {
			upTo := c.SourceVersion
			return &RecordStored[T]{MappingVersion: c.MappingVersion, Deleted: true, Missing: true, DeletedUpTo: &upTo}, true
		}
		verdict, upTo := decideDelete(cur.lifecycle(), c)
		if verdict == deleteSkip {
			return nil, false
		}
		next := *cur
		next.Deleted, next.DeletedUpTo = true, &upTo
		return &next, true
	}
	return nil, false
}
