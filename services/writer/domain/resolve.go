package domain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/orosync/orosync/events"
)

// Resolutions of a review-queue entry.
const (
	// TakeOro applies Oro's side: its values for the conflicting fields, or the deletion.
	TakeOro = "oro"
	// KeepMercato keeps Mercato's values (or the locally edited record, detached from the deleted Oro record).
	KeepMercato = "mercato"
	// CreateNew creates a new Mercato person for an email-match conflict.
	CreateNew = "new"
	// LinkPrefix + entity id links an email-match conflict to that candidate ("link:<uuid>").
	LinkPrefix = "link:"
)

// ErrBadResolution is returned for a resolution that does not fit the conflict's kind.
var ErrBadResolution = errors.New("resolution does not apply to this conflict")

// Review is an open review-queue entry, as a resolution reads it.
type Review struct {
	ID         int64
	Kind       string
	Fields     []string
	Change     events.Change
	Candidates []Candidate
}

// Salt distinguishes the event ids of what a resolution writes from those of the version's first write.
func (r Review) Salt() string { return "conflict-" + strconv.FormatInt(r.ID, 10) }

// ResolvePerson decides what resolving a person's conflict writes (st: the record as stored, nil when orosync
// has none): Oro's values of the conflicting fields, the deletion, a new or linked person for an email match, or
// nothing when Mercato's values stay.
func ResolvePerson(r Review, k Key, st *Stored, resolution string) ([]Outcome, error) {
	switch {
	case r.Kind == ConflictFieldMerge && resolution == TakeOro && st != nil && r.Change.Person != nil:
		after := *st
		after.Person = TakeFields(st.Person, *r.Change.Person, r.Fields)
		return []Outcome{{Key: k, Before: st, Applied: true, After: after, Changed: !SamePerson(after.Person, st.Person),
			Events: []string{"updated"}}}, nil
	case r.Kind == ConflictDeleteLocalEdit && st != nil && !st.Deleted && (resolution == TakeOro || resolution == KeepMercato):
		after := *st
		after.Deleted = true
		o := Outcome{Key: k, Before: st, Applied: true, After: after}
		if resolution == TakeOro {
			o.Changed, o.Events = true, []string{"deleted"}
		}
		// KeepMercato: only orosync's record is closed; the Mercato person stays, edited, and the next Oro
		// tombstone of it is a no-op.
		return []Outcome{o}, nil
	case r.Kind == ConflictEmailMatch && st == nil && (resolution == CreateNew || len(resolution) > len(LinkPrefix) &&
		strings.HasPrefix(resolution, LinkPrefix)):
		state := State{}
		if resolution != CreateNew {
			want := resolution[len(LinkPrefix):]
			for _, c := range r.Candidates {
				if c.EntityID == want {
					state.Candidates = map[Key][]Candidate{k: {c}}
				}
			}
			if state.Candidates == nil {
				return nil, fmt.Errorf("conflict %d: %s is not a candidate: %w", r.ID, want, ErrBadResolution)
			}
		}
		return Plan(state, nil, []events.Change{r.Change}), nil
	case resolution == KeepMercato && r.Kind != ConflictEmailMatch:
		return nil, nil // Mercato's values stay; a later Oro change is merged against the same snapshot
	}
	return nil, fmt.Errorf("conflict %d (%s): resolution %q: %w", r.ID, r.Kind, resolution, ErrBadResolution)
}

// ResolveCompany decides what resolving a company's conflict writes (nil: nothing).
func ResolveCompany(r Review, k Key, st *CompanyStored, resolution string) (*CompanyOutcome, error) {
	var o *CompanyOutcome
	switch {
	case st == nil || st.Missing:
		if resolution != KeepMercato {
			return nil, fmt.Errorf("conflict %d: company %s/%s is gone: %w", r.ID, k.SourceType, k.SourceID, ErrBadResolution)
		}
	case r.Kind == ConflictFieldMerge && resolution == TakeOro && r.Change.Company != nil:
		after := *st
		after.Company = TakeCompanyFields(st.Company, *r.Change.Company, r.Fields)
		o = &CompanyOutcome{Key: k, Before: st, Applied: true, After: after, Changed: !SameCompany(after.Company, st.Company)}
		if o.Changed {
			o.Events = []string{"updated"}
		}
	case r.Kind == ConflictDeleteLocalEdit && !st.Deleted && (resolution == TakeOro || resolution == KeepMercato):
		after := *st
		upTo := r.Change.SourceVersion
		if upTo.Compare(st.Version) < 0 {
			upTo = st.Version
		}
		after.Deleted, after.DeletedUpTo = true, &upTo
		o = &CompanyOutcome{Key: k, Before: st, Applied: true, After: after}
		if resolution == TakeOro {
			o.Changed, o.Events = true, []string{"deleted"}
		}
		// KeepMercato: only orosync's record is closed; the company stays in Mercato, edited, with its addresses.
	case resolution == KeepMercato:
		// Mercato's values stay; a later Oro change is merged against the same snapshot.
	default:
		return nil, fmt.Errorf("conflict %d (%s): resolution %q: %w", r.ID, r.Kind, resolution, ErrBadResolution)
	}
	if o == nil {
		return nil, nil
	}
	if st.Base != nil && (!o.After.Deleted || !o.Changed) {
		o.Addresses = st.Base.Addresses // the addresses stay as the last version left them
	}
	o.Salt = r.Salt()
	return o, nil
}
