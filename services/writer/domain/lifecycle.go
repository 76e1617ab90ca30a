package domain

import "github.com/orosync/orosync/events"

// lifecycle is the version bookkeeping every aggregate keeps; the rules over it live here once.
type lifecycle struct {
	Version        events.SourceVersion
	MappingVersion string
	Deleted        bool
	Missing        bool
	DeletedUpTo    *events.SourceVersion
}

// upsertVerdict is what a new version does to a record that already exists.
type upsertVerdict int

const (
	upsertSkip upsertVerdict = iota
	// upsertIntoTombstone: a version the tombstone already ended; Mercato gets the newest such version's values,
	// deleted, as it would have had versions and tombstone arrived in order.
	upsertIntoTombstone
	upsertApply
)

func decideUpsert(cur lifecycle, c events.Change) upsertVerdict {
	cmp := c.SourceVersion.Compare(cur.Version)
	sameMapping := c.MappingVersion == cur.MappingVersion
	if cur.Deleted && cur.DeletedUpTo != nil && c.SourceVersion.Compare(*cur.DeletedUpTo) <= 0 {
		if !cur.Missing && (cmp < 0 || (cmp == 0 && sameMapping)) {
			return upsertSkip
		}
		return upsertIntoTombstone
	}
	// Older versions never apply; the same version applies again only under another mapping (a replay).
	if cmp < 0 || (cmp == 0 && (sameMapping || cur.Deleted)) {
		return upsertSkip
	}
	return upsertApply
}

// deleteVerdict is what a tombstone does to a record that exists.
type deleteVerdict int

const (
	deleteSkip deleteVerdict = iota
	// deleteExtend: already deleted, a later tombstone moves the end forward.
	deleteExtend
	deleteApply
)

// decideDelete also returns the version the record ends at.
func decideDelete(cur lifecycle, c events.Change) (deleteVerdict, events.SourceVersion) {
	upTo := c.SourceVersion
	if cur.Deleted {
		if cur.DeletedUpTo != nil && upTo.Compare(*cur.DeletedUpTo) > 0 {
			return deleteExtend, upTo
		}
		return deleteSkip, upTo
	}
	// A tombstone names the last version it saw; a newer version applied since means the record lives on.
	if !c.SourceVersion.UpdatedAt.IsZero() && c.SourceVersion.Compare(cur.Version) < 0 {
		return deleteSkip, upTo
	}
	if upTo.Compare(cur.Version) < 0 {
		upTo = cur.Version
	}
	return deleteApply, upTo
}

func (s *Stored) lifecycle() lifecycle {
	return lifecycle{s.Version, s.MappingVersion, s.Deleted, s.Missing, s.DeletedUpTo}
}

func (s *CompanyStored) lifecycle() lifecycle {
	return lifecycle{s.Version, s.MappingVersion, s.Deleted, s.Missing, s.DeletedUpTo}
}
