package domain

import (
	"sort"

	"github.com/orosync/orosync/events"
)

// Key identifies one synced Oro record within a Mercato tenant.
type Key struct {
	Tenant     string // orosync connection
	SourceType string
	SourceID   string
}

// KeyOf is the record a change is about.
func KeyOf(c events.Change) Key {
	return Key{Tenant: c.Tenant, SourceType: c.Source.Type, SourceID: c.Source.ID}
}

// KeysOf are the records changes are about, each once, in the order they first appear.
func KeysOf(changes []events.Change) []Key {
	keys := make([]Key, 0, len(changes))
	seen := make(map[Key]bool, len(changes))
	for _, c := range changes {
		if k := KeyOf(c); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// byRecord groups changes by record, records in the order they first appear, each record's changes in source
// version order (a delete of version v follows v).
func byRecord(changes []events.Change) ([]Key, map[Key][]events.Change) {
	byKey := make(map[Key][]events.Change, len(changes))
	keys := make([]Key, 0, len(changes))
	for _, c := range changes {
		k := KeyOf(c)
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], c)
	}
	for _, cs := range byKey {
		sort.SliceStable(cs, func(i, j int) bool {
			if c := cs[i].SourceVersion.Compare(cs[j].SourceVersion); c != 0 {
				return c < 0
			}
			return cs[i].Op == events.OpUpsert && cs[j].Op == events.OpDelete
		})
	}
	return keys, byKey
}
