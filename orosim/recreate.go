package orosim

import (
	"fmt"
	"slices"
	"time"
)

// RecreateRecord stores a record of typ under an id that was deleted before, as a restore from a backup or an
// import with explicit ids does in a real Oro: the id is live again with new attributes and createdAt/updatedAt
// of now. It is audited as a create and fires the create webhooks. The id must not exist.
func (s *Server) RecreateRecord(typ, id string, attrs map[string]any) error {
	n, err := parseID(id)
	if err != nil {
		return fmt.Errorf("recreate %s %q: %w", typ, id, err)
	}
	rec, err := s.store.recreate(typ, n, attrs, s.clock())
	if err != nil {
		return fmt.Errorf("recreate %s: %w", typ, err)
	}
	s.changed(typ, "create", nil, rec, adminUser)
	return nil
}

// recreate is create with a given id, kept in id order.
func (s *store) recreate(typ string, id int64, attrs map[string]any, now time.Time) (*record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cols[typ]
	if !ok {
		return nil, fmt.Errorf("type %q: %w", typ, ErrNotFound)
	}
	if id < 1 {
		return nil, fmt.Errorf("%s id %d: must be positive", typ, id)
	}
	if _, exists := c.byID[id]; exists {
		return nil, fmt.Errorf("%s %d exists", typ, id)
	}
	r := &record{ID: id, Attrs: map[string]any{}, Rels: map[string][]ref{}}
	for _, a := range c.def.Attrs {
		if a.Kind == kindObjects {
			r.Attrs[a.Name] = []string(nil)
		}
	}
	if err := applyAttrs(c.def, r, attrs); err != nil {
		return nil, fmt.Errorf("%s %d: %w", typ, id, err)
	}
	for _, name := range []string{"createdAt", "updatedAt"} {
		if _, ok := c.def.attr(name); ok {
			r.Attrs[name] = now
		}
	}
	c.nextID = max(c.nextID, id+1)
	c.byID[id] = r
	i, _ := slices.BinarySearchFunc(c.sorted, id, func(x *record, id int64) int { return cmpID(x.ID, id) })
	// New slices, not in-place inserts: readers may hold the old backing arrays (see remove).
	c.sorted = slices.Concat(c.sorted[:i], []*record{r}, c.sorted[i:])
	c.updated = slices.Concat(c.updated[:i], []int64{updatedKey(r)}, c.updated[i:])
	c.indexInsert(updEntry{upd: c.updated[i], rec: r})
	s.linkActivity(typ, nil, r)
	return r, nil
}
