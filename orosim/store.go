package orosim

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
)

// ErrNotFound is returned by admin operations on a record that does not exist.
var ErrNotFound = errors.New("orosim: record not found")

// ErrInvalid is returned by admin operations given attributes Oro would reject.
var ErrInvalid = errors.New("orosim: invalid attributes")

// collection holds the records of one type. sorted is kept in ascending id
// order (Oro's default sort), so the common request needs no sorting at all.
type collection struct {
	def    *typeDef
	byID   map[int64]*record
	sorted []*record
	nextID int64 // ids are never reused, like an auto-increment column
}

// store is the simulator's database. One RWMutex guards all collections;
// records themselves are immutable, so a reader may keep using the records
// it collected after it unlocks.
type store struct {
	mu   sync.RWMutex
	cols map[string]*collection
}

func newStore(types map[string]*typeDef) *store {
	s := &store{cols: make(map[string]*collection, len(types))}
	for name, def := range types {
		s.cols[name] = &collection{def: def, byID: map[int64]*record{}, nextID: 1}
	}
	return s
}

// load replaces the records of a type; used for seeding.
func (s *store) load(typ string, recs []*record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cols[typ]
	c.byID = make(map[int64]*record, len(recs))
	c.sorted = slices.Clone(recs)
	sort.Slice(c.sorted, func(i, j int) bool { return c.sorted[i].ID < c.sorted[j].ID })
	c.nextID = 1
	for _, r := range recs {
		c.byID[r.ID] = r
		c.nextID = max(c.nextID, r.ID+1)
	}
}

func (s *store) def(typ string) (*typeDef, bool) {
	c, ok := s.cols[typ] // the set of collections never changes after New
	if !ok {
		return nil, false
	}
	return c.def, true
}

func (s *store) get(typ string, id int64) (*record, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.cols[typ]
	if !ok {
		return nil, false
	}
	r, ok := c.byID[id]
	return r, ok
}

func (s *store) count(typ string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c, ok := s.cols[typ]; ok {
		return len(c.sorted)
	}
	return 0
}

func (s *store) ids(typ string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.cols[typ]
	if !ok {
		return nil
	}
	out := make([]string, len(c.sorted))
	for i, r := range c.sorted {
		out[i] = r.idString()
	}
	return out
}

// result is one page of a list request.
type result struct {
	records []*record
	total   int  // rows matching the filters, for X-Include-Total-Count
	hasMore bool // more rows after this page: Oro emits links.next only then
}

// list filters under the read lock, then sorts and pages its own copy.
func (s *store) list(typ string, q *listQuery) result {
	s.mu.RLock()
	c := s.cols[typ]
	matched := make([]*record, 0, len(c.sorted))
	for _, r := range c.sorted {
		if q.matches(r) {
			matched = append(matched, r)
		}
	}
	s.mu.RUnlock()

	sortRecords(matched, q.sort)
	res := result{total: len(matched)}
	if q.limit < 0 {
		res.records = matched
		return res
	}
	start := min(q.offset, len(matched))
	end := min(start+q.limit, len(matched))
	res.records = matched[start:end]
	res.hasMore = end < len(matched)
	return res
}

// sortRecords sorts records that are already in ascending id order. Rows that
// tie on every requested field stay in id order (the input position breaks
// ties), so keyset paging on (updatedAt, id) sees a total order.
func sortRecords(recs []*record, specs []sortSpec) {
	if len(specs) == 0 || len(specs) == 1 && specs[0].sorter.Name == "id" && !specs[0].desc {
		return
	}
	if len(specs) == 1 && specs[0].sorter.Name == "id" {
		slices.Reverse(recs)
		return
	}
	// Compute the keys once: 100k records sorted by updatedAt must stay cheap.
	n := len(specs)
	keys := make([]sortKey, len(recs)*n)
	for i, r := range recs {
		for j, sp := range specs {
			keys[i*n+j] = sp.sorter.key(r)
		}
	}
	idx := make([]int, len(recs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		for j, sp := range specs {
			if c := compareKeys(keys[a*n+j], keys[b*n+j], sp.desc); c != 0 {
				return c
			}
		}
		return a - b
	})
	sorted := make([]*record, len(recs))
	for i, k := range idx {
		sorted[i] = recs[k]
	}
	copy(recs, sorted)
}

// compareKeys orders like PostgreSQL, Oro's database: NULLs sort last in
// ascending order and first in descending order.
func compareKeys(a, b sortKey, desc bool) int {
	if a.null || b.null {
		switch {
		case a.null && b.null:
			return 0
		case a.null:
			return boolSign(!desc)
		default:
			return boolSign(desc)
		}
	}
	c := 0
	switch {
	case a.n != b.n:
		c = cmpInt(a.n, b.n)
	case a.s != b.s:
		c = cmpString(a.s, b.s)
	}
	if desc {
		c = -c
	}
	return c
}

func boolSign(positive bool) int {
	if positive {
		return 1
	}
	return -1
}

func cmpInt(a, b int64) int {
	if a < b {
		return -1
	}
	return 1
}

func cmpString(a, b string) int {
	if a < b {
		return -1
	}
	return 1
}

// update applies admin attributes to a record; server-set attributes are
// ignored and updatedAt becomes now.
func (s *store) update(typ string, id int64, attrs map[string]any, now time.Time) (*record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cols[typ]
	if !ok {
		return nil, fmt.Errorf("type %q: %w", typ, ErrNotFound)
	}
	old, ok := c.byID[id]
	if !ok {
		return nil, fmt.Errorf("%s %d: %w", typ, id, ErrNotFound)
	}
	r := old.clone()
	if err := applyAttrs(c.def, r, attrs); err != nil {
		return nil, fmt.Errorf("%s %d: %w", typ, id, err)
	}
	if _, ok := c.def.attr("updatedAt"); ok {
		r.Attrs["updatedAt"] = now
	}
	c.byID[id] = r
	i, _ := slices.BinarySearchFunc(c.sorted, id, func(x *record, id int64) int { return cmpID(x.ID, id) })
	c.sorted[i] = r
	return r, nil
}

// create stores a new record with the next id.
func (s *store) create(typ string, attrs map[string]any, now time.Time) (*record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cols[typ]
	if !ok {
		return nil, fmt.Errorf("type %q: %w", typ, ErrNotFound)
	}
	r := &record{ID: c.nextID, Attrs: map[string]any{}, Rels: map[string][]ref{}}
	for _, a := range c.def.Attrs {
		if a.Kind == kindObjects {
			r.Attrs[a.Name] = []string(nil)
		}
	}
	if err := applyAttrs(c.def, r, attrs); err != nil {
		return nil, fmt.Errorf("new %s: %w", typ, err)
	}
	for _, name := range []string{"createdAt", "updatedAt"} {
		if _, ok := c.def.attr(name); ok {
			r.Attrs[name] = now
		}
	}
	c.nextID++
	c.byID[r.ID] = r
	c.sorted = append(c.sorted, r) // the new id is the largest
	return r, nil
}

// remove hard-deletes a record, as Oro does.
func (s *store) remove(typ string, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cols[typ]
	if !ok {
		return fmt.Errorf("type %q: %w", typ, ErrNotFound)
	}
	if _, ok := c.byID[id]; !ok {
		return fmt.Errorf("%s %d: %w", typ, id, ErrNotFound)
	}
	delete(c.byID, id)
	i, _ := slices.BinarySearchFunc(c.sorted, id, func(x *record, id int64) int { return cmpID(x.ID, id) })
	// A new slice, not an in-place delete: the old backing array stays valid.
	c.sorted = slices.Concat(c.sorted[:i], c.sorted[i+1:])
	return nil
}

func cmpID(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// applyAttrs sets attributes and relationships from loosely typed values
// (Go values or decoded JSON). Values go through JSON so callers may pass
// []string, []any or []map[string]any for emails alike.
func applyAttrs(def *typeDef, r *record, attrs map[string]any) error {
	changed := map[string]bool{}
	for k, v := range attrs {
		raw, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalid, k, err)
		}
		if a, ok := def.attr(k); ok {
			if a.ServerSet {
				continue // Oro ignores createdAt/updatedAt sent by clients
			}
			if err := setAttr(r, a, raw); err != nil {
				return fmt.Errorf("%w: %s: %w", ErrInvalid, k, err)
			}
			changed[k] = true
			continue
		}
		if rd, ok := def.rel(k); ok {
			if err := setRel(r, rd, raw); err != nil {
				return fmt.Errorf("%w: %s: %w", ErrInvalid, k, err)
			}
			changed[k] = true
			continue
		}
		return fmt.Errorf("%w: unknown field %q", ErrInvalid, k)
	}
	if def.normalize != nil {
		return def.normalize(r, changed)
	}
	return nil
}

func setAttr(r *record, a attrDef, raw json.RawMessage) error {
	if string(raw) == "null" {
		if a.Kind == kindObjects {
			r.Attrs[a.Name] = []string(nil)
		} else {
			delete(r.Attrs, a.Name)
		}
		return nil
	}
	switch a.Kind {
	case kindString:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		r.Attrs[a.Name] = s
	case kindInt:
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil {
			return err
		}
		r.Attrs[a.Name] = n
	case kindDateTime:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return err
		}
		r.Attrs[a.Name] = t.UTC().Truncate(time.Second)
	case kindDate:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return err
		}
		r.Attrs[a.Name] = s
	case kindObjects:
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return err
		}
		values := make([]string, 0, len(items))
		for _, it := range items {
			var s string
			if json.Unmarshal(it, &s) != nil {
				var obj map[string]string
				if err := json.Unmarshal(it, &obj); err != nil {
					return err
				}
				v, ok := obj[a.ObjectKey]
				if !ok {
					return fmt.Errorf("item without %q", a.ObjectKey)
				}
				s = v
			}
			values = append(values, s)
		}
		r.Attrs[a.Name] = values
	}
	return nil
}

// setRel accepts null, {"type","id"}, a list of those, or any of them wrapped
// in {"data": ...}; ids may be given as numbers.
func setRel(r *record, rd relDef, raw json.RawMessage) error {
	var wrapped struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &wrapped) == nil && wrapped.Data != nil {
		raw = wrapped.Data
	}
	var items []json.RawMessage
	switch {
	case string(raw) == "null":
	case len(raw) > 0 && raw[0] == '[':
		if err := json.Unmarshal(raw, &items); err != nil {
			return err
		}
	default:
		items = []json.RawMessage{raw}
	}
	if !rd.ToMany && len(items) > 1 {
		return errors.New("a to-one relationship takes one item")
	}
	refs := make([]ref, 0, len(items))
	for _, it := range items {
		var x struct {
			Type string          `json:"type"`
			ID   json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(it, &x); err != nil {
			return err
		}
		if x.Type != rd.Target {
			return fmt.Errorf("type %q, want %q", x.Type, rd.Target)
		}
		id := string(x.ID)
		if s, err := strconv.Unquote(id); err == nil {
			id = s
		}
		if id == "" || id == "null" {
			return errors.New("missing id")
		}
		refs = append(refs, ref{Type: x.Type, ID: id})
	}
	r.Rels[rd.Name] = refs
	return nil
}
