package adapters

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/services/writer/domain"
)

// resolveCompany writes what resolving a company's conflict implies (the caller closes the conflict).
func (s *Store) resolveCompany(ctx context.Context, tx pgx.Tx, r ConflictRow, k domain.Key, resolution string) error {
	stored, known, err := s.loadCompanies(ctx, tx, []domain.Key{k})
	if err != nil {
		return err
	}
	st := stored[k]
	var o *domain.CompanyOutcome
	switch {
	case st == nil || st.Missing:
		if resolution != KeepMercato {
			return fmt.Errorf("conflict %d: company %s/%s is gone: %w", r.ID, k.SourceType, k.SourceID, ErrBadResolution)
		}
	case r.Kind == domain.ConflictFieldMerge && resolution == TakeOro && r.Change.Company != nil:
		after := *st
		after.Company = domain.TakeCompanyFields(st.Company, *r.Change.Company, r.Fields)
		o = &domain.CompanyOutcome{Key: k, Before: st, Applied: true, After: after, Changed: !domain.SameCompany(after.Company, st.Company)}
		if o.Changed {
			o.Events = []string{"updated"}
		}
	case r.Kind == domain.ConflictDeleteLocalEdit && !st.Deleted && (resolution == TakeOro || resolution == KeepMercato):
		after := *st
		upTo := r.Change.SourceVersion
		if upTo.Compare(st.Version) < 0 {
			upTo = st.Version
		}
		after.Deleted, after.DeletedUpTo = true, &upTo
		o = &domain.CompanyOutcome{Key: k, Before: st, Applied: true, After: after}
		if resolution == TakeOro {
			o.Changed, o.Events = true, []string{"deleted"}
		}
		// KeepMercato: only orosync's record is closed; the company stays in Mercato, edited, with its addresses.
	case resolution == KeepMercato:
		// Mercato's values stay; a later Oro change is merged against the same snapshot.
	default:
		return fmt.Errorf("conflict %d (%s): resolution %q: %w", r.ID, r.Kind, resolution, ErrBadResolution)
	}
	if o == nil {
		return nil
	}
	if st.Base != nil && (!o.After.Deleted || !o.Changed) {
		o.Addresses = st.Base.Addresses // the addresses stay as the last version left them
	}
	o.Salt = "conflict-" + strconv.FormatInt(r.ID, 10)
	return s.persistCompanies(ctx, tx, []domain.CompanyOutcome{*o}, known)
}
