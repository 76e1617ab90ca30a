package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/orosync/orosync/services/writer/domain"
)

// ResolveConflict settles an open review-queue entry: the store writes what domain.ResolvePerson or
// domain.ResolveCompany decide for the resolution, with its events, and closes the entry, in one transaction.
type ResolveConflict struct {
	Store ConflictStore
}

// Handle resolves conflict id with domain.TakeOro, domain.KeepMercato, domain.CreateNew or domain.LinkPrefix
// followed by a candidate's entity id.
func (r ResolveConflict) Handle(ctx context.Context, id int64, resolution string) error {
	switch {
	case resolution == domain.TakeOro, resolution == domain.KeepMercato, resolution == domain.CreateNew,
		strings.HasPrefix(resolution, domain.LinkPrefix) && len(resolution) > len(domain.LinkPrefix):
	default:
		return fmt.Errorf("conflict %d: resolution %q (want %s, %s, %s or %s<entity id>): %w", id, resolution, domain.TakeOro,
			domain.KeepMercato, domain.CreateNew, domain.LinkPrefix, domain.ErrBadResolution)
	}
	return r.Store.Resolve(ctx, id, resolution)
}
