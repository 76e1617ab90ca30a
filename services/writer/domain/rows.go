package domain

import "github.com/orosync/orosync/events"

// RowState is what a reconcile of a record aggregate compares a Mercato row with.
type RowState struct {
	Exists, Deleted bool
	// Status is the row's status (deals, interactions).
	Status *string
}

// RowEvent is the event a write caused: created (new, or back from deleted), deleted, updated (values changed).
func RowEvent(before RowState, deleted, written bool) string {
	switch {
	case !before.Exists:
		if deleted {
			return "" // a version a tombstone already ended: Mercato never saw it live
		}
		return "created"
	case before.Deleted && !deleted:
		return "created"
	case !before.Deleted && deleted:
		return "deleted"
	case !deleted && written:
		return "updated"
	}
	return ""
}

// ClosureEvent is won or lost when an update moves a live deal's status to win or loose, as Mercato's deal update
// command emits them (a deal first seen closed is history, not a closure).
func ClosureEvent(before RowState, d events.Deal, evt string) string {
	if evt != "updated" || !before.Exists || before.Deleted || (before.Status != nil && *before.Status == d.Status) {
		return ""
	}
	switch d.Status {
	case "win":
		return "won"
	case "loose":
		return "lost"
	}
	return ""
}

// StagePosition orders the stages from the status value alone, so stages made in any order (a replay, a reverse
// one, concurrent writers) sit where they would have anyway, and no stage is ever renumbered: open, in_progress,
// then other values alphabetically (by their first three bytes; values sharing them share a position), then win
// and loose.
func StagePosition(norm string) int32 {
	switch norm {
	case "open":
		return 0
	case "in_progress":
		return 1
	case "win":
		return 1 << 30
	case "loose":
		return 1<<30 + 1
	}
	var k int32
	for i := range 3 {
		k <<= 8
		if i < len(norm) {
			k |= int32(norm[i])
		}
	}
	return 2 + k
}

// ClosureOutcome is customer_deals.closure_outcome for a status: our reading of Mercato's closure statistics
// (customer_deals_closure_stats_idx) and of the won/lost events its deal command emits for win/loose.
func ClosureOutcome(status string) *string {
	var o string
	switch status {
	case "win":
		o = "won"
	case "loose":
		o = "lost"
	default:
		return nil
	}
	return &o
}
