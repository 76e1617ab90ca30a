package orosim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
	// updated is updatedAt (Unix microseconds, noUpdatedAt when null) of
	// sorted[i], as a column: filtering a million records by updatedAt
	// reads 8 MB sequentially instead of a million maps.
	updated []int64
	// byUpd orders the records by (updatedAt, id), null updatedAt first
	// (noUpdatedAt is the smallest key); nil for types without an
	// updatedAt sorter. Every write keeps it in step, so a list sorted by
	// updatedAt walks only its page instead of sorting the whole type.
	byUpd  []updEntry
	nextID int64 // ids are never reused, like an auto-increment column
}

// updEntry is one row of the (updatedAt, id) index.
type updEntry struct {
	upd int64 // updatedKey(rec)
	rec *record
}

const noUpdatedAt = math.MinInt64

func updatedKey(r *record) int64 {
	if t, ok := r.timeAttr("updatedAt"); ok {
		return t.UnixMicro()
	}
	return noUpdatedAt
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
		c := &collection{def: def, byID: map[int64]*record{}, nextID: 1}
		if _, ok := def.Sorters["updatedAt"]; ok {
			c.byUpd = []updEntry{}
		}
		s.cols[name] = c
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
	c.updated = make([]int64, len(c.sorted))
	for i, r := range c.sorted {
		c.updated[i] = updatedKey(r)
	}
	c.nextID = 1
	for _, r := range recs {
		c.byID[r.ID] = r
		c.nextID = max(c.nextID, r.ID+1)
	}
	if c.byUpd != nil {
		// Sort (updatedAt, position in id order) pairs: no record is read.
		type pair struct {
			upd int64
			i   int
		}
		pairs := make([]pair, len(c.sorted))
		for i, u := range c.updated {
			pairs[i] = pair{u, i}
		}
		slices.SortFunc(pairs, func(a, b pair) int {
			if a.upd != b.upd {
				return cmpID(a.upd, b.upd)
			}
			return a.i - b.i
		})
		c.byUpd = make([]updEntry, len(pairs))
		for k, p := range pairs {
			c.byUpd[k] = updEntry{upd: p.upd, rec: c.sorted[p.i]}
		}
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

// at returns the i-th record of a type in id order.
func (s *store) at(typ string, i int) (*record, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.cols[typ]
	if !ok || i < 0 || i >= len(c.sorted) {
		return nil, false
	}
	return c.sorted[i], true
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
	total   int  // rows matching the filters, for X-Include-Total-Count; see listQuery.countTotal
	hasMore bool // more rows after this page: Oro emits links.next only then
}

// list filters under the read lock, then sorts and pages its own copy. In
// id order (the default) it keeps only the requested window, so a page of a
// million-record type costs one pass and no big allocation.
func (s *store) list(typ string, q *listQuery) result {
	if len(q.sort) > 0 && q.sort[0].sorter.Name == "updatedAt" {
		s.mu.RLock()
		c := s.cols[typ]
		if c.byUpd != nil {
			res := listByUpdated(c, q)
			s.mu.RUnlock()
			return res
		}
		s.mu.RUnlock()
	}
	return s.listScan(typ, q)
}

// listScan answers a list request without the updatedAt index: it filters
// every record and selects the page with a bounded heap.
func (s *store) listScan(typ string, q *listQuery) result {
	s.mu.RLock()
	c := s.cols[typ]
	if len(q.sort) == 1 && q.sort[0].sorter.Name == "id" {
		res := pageInIDOrder(c.sorted, q, q.sort[0].desc)
		s.mu.RUnlock()
		return res
	}
	size := min(len(c.sorted), 1024)
	if len(q.conds) == 0 {
		size = len(c.sorted) // every record matches
	}
	matched := make([]*record, 0, size)
	upd := make([]int64, 0, size) // updatedAt of matched[i], from the column
	if uc := q.updatedAtCondition(); uc != nil {
		var buf [1]int64
		for i, v := range c.updated {
			vals := buf[:0]
			if v != noUpdatedAt {
				vals = append(vals, v)
			}
			if uc.matchOrdered(vals) && q.matchesExcept(c.sorted[i], uc) {
				matched = append(matched, c.sorted[i])
				upd = append(upd, v)
			}
		}
	} else {
		for i, r := range c.sorted {
			if q.matches(r) {
				matched = append(matched, r)
				upd = append(upd, c.updated[i])
			}
		}
	}
	s.mu.RUnlock()

	res := result{total: len(matched)}
	if q.limit < 0 {
		res.records = sortRecords(matched, upd, q.sort, -1)
		return res
	}
	// Only the rows up to the end of the page need to be in order.
	head := sortRecords(matched, upd, q.sort, q.offset+q.limit)
	start := min(q.offset, len(head))
	end := min(start+q.limit, len(head))
	res.records = head[start:end]
	res.hasMore = q.offset+q.limit < len(matched)
	return res
}

// pageInIDOrder pages records already in ascending id order (walked
// backwards for descending), counting every match for the total.
func pageInIDOrder(sorted []*record, q *listQuery, desc bool) result {
	n := len(sorted)
	at := func(i int) *record {
		if desc {
			return sorted[n-1-i]
		}
		return sorted[i]
	}
	var res result
	if len(q.conds) == 0 {
		res.total = n
		start, end := 0, n
		if q.limit >= 0 {
			start = min(q.offset, n)
			end = min(start+q.limit, n)
		}
		res.records = make([]*record, end-start)
		for i := range res.records {
			res.records[i] = at(start + i)
		}
		res.hasMore = end < n
		return res
	}
	for i := range n {
		r := at(i)
		if !q.matches(r) {
			continue
		}
		if res.total >= q.offset && (q.limit < 0 || len(res.records) < q.limit) {
			res.records = append(res.records, r)
		}
		res.total++
	}
	if q.limit < 0 {
		return res
	}
	res.hasMore = res.total > q.offset+len(res.records)
	return res
}

// sortRecords orders records that are already in ascending id order and
// returns the first want of them (all when want < 0); it may reorder recs.
// Rows that tie on every requested field stay in id order (the input
// position breaks ties), so keyset paging on (updatedAt, id) sees a total
// order. updated, when not nil, holds each record's updatedAt column value.
func sortRecords(recs []*record, updated []int64, specs []sortSpec, want int) []*record {
	if want < 0 || want > len(recs) {
		want = len(recs)
	}
	if len(specs) == 0 || len(specs) == 1 && specs[0].sorter.Name == "id" && !specs[0].desc {
		return recs[:want]
	}
	if len(specs) == 1 && specs[0].sorter.Name == "id" {
		slices.Reverse(recs)
		return recs[:want]
	}
	// Compute the keys once, without touching records where a column or
	// the input position (= id order) has the value.
	n := len(specs)
	keys := make([]sortKey, len(recs)*n)
	for i, r := range recs {
		for j, sp := range specs {
			switch {
			case sp.sorter.Name == "updatedAt" && updated != nil:
				keys[i*n+j] = sortKey{n: updated[i], null: updated[i] == noUpdatedAt}
			case sp.sorter.Name == "id":
				keys[i*n+j] = sortKey{n: int64(i)}
			default:
				keys[i*n+j] = sp.sorter.key(r)
			}
		}
	}
	cmp := func(a, b int) int {
		for j, sp := range specs {
			if c := compareKeys(keys[a*n+j], keys[b*n+j], sp.desc); c != 0 {
				return c
			}
		}
		return a - b
	}
	var idx []int
	if want < len(recs)/8 {
		idx = smallest(len(recs), want, cmp)
	} else {
		idx = make([]int, len(recs))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, cmp)
		idx = idx[:want]
	}
	out := make([]*record, len(idx))
	for i, k := range idx {
		out[i] = recs[k]
	}
	return out
}

// smallest returns, in order, the k smallest of the indexes 0..n-1 under
// cmp, with a bounded max-heap: O(n log k) for a page deep in a big result.
func smallest(n, k int, cmp func(a, b int) int) []int {
	if k <= 0 {
		return nil
	}
	h := make([]int, 0, k)
	down := func(i int) {
		for {
			l, big := 2*i+1, i
			if l < len(h) && cmp(h[l], h[big]) > 0 {
				big = l
			}
			if r := l + 1; r < len(h) && cmp(h[r], h[big]) > 0 {
				big = r
			}
			if big == i {
				return
			}
			h[i], h[big] = h[big], h[i]
			i = big
		}
	}
	for i := range n {
		switch {
		case len(h) < k:
			h = append(h, i)
			for c := len(h) - 1; c > 0; {
				p := (c - 1) / 2
				if cmp(h[c], h[p]) <= 0 {
					break
				}
				h[c], h[p] = h[p], h[c]
				c = p
			}
		case cmp(i, h[0]) < 0:
			h[0] = i
			down(0)
		}
	}
	slices.SortFunc(h, cmp)
	return h
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
func (s *store) update(typ string, id int64, attrs map[string]any, now time.Time) (prev, next *record, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cols[typ]
	if !ok {
		return nil, nil, fmt.Errorf("type %q: %w", typ, ErrNotFound)
	}
	old, ok := c.byID[id]
	if !ok {
		return nil, nil, fmt.Errorf("%s %d: %w", typ, id, ErrNotFound)
	}
	r := old.clone()
	if err := applyAttrs(c.def, r, attrs); err != nil {
		return nil, nil, fmt.Errorf("%s %d: %w", typ, id, err)
	}
	if _, ok := c.def.attr("updatedAt"); ok {
		r.Attrs["updatedAt"] = now
	}
	c.replace(r)
	s.linkActivity(typ, old, r)
	s.linkOwned(typ, old, r)
	return old, r, nil
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
	c.updated = append(c.updated, updatedKey(r))
	c.indexInsert(updEntry{upd: c.updated[len(c.updated)-1], rec: r})
	s.linkActivity(typ, nil, r)
	s.linkOwned(typ, nil, r)
	return r, nil
}

// remove hard-deletes a record, as Oro does.
func (s *store) remove(typ string, id int64) (*record, error) {
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
	c.drop(id)
	s.linkActivity(typ, old, nil)
	s.linkOwned(typ, old, nil)
	s.removeOwned(typ, old)
	return old, nil
}

// drop removes a stored record from the collection and its indexes.
func (c *collection) drop(id int64) {
	delete(c.byID, id)
	i, _ := slices.BinarySearchFunc(c.sorted, id, func(x *record, id int64) int { return cmpID(x.ID, id) })
	c.indexRemove(c.updated[i], id)
	// A new slice, not an in-place delete: the old backing array stays valid.
	c.sorted = slices.Concat(c.sorted[:i], c.sorted[i+1:])
	c.updated = slices.Concat(c.updated[:i], c.updated[i+1:])
}

// replace swaps in a new version of a stored record.
func (c *collection) replace(r *record) {
	c.byID[r.ID] = r
	i, _ := slices.BinarySearchFunc(c.sorted, r.ID, func(x *record, id int64) int { return cmpID(x.ID, id) })
	c.sorted[i] = r
	old := c.updated[i]
	c.updated[i] = updatedKey(r)
	c.indexReplace(old, r, c.updated[i])
}

// indexPos finds the (upd, id) row of the updatedAt index.
func (c *collection) indexPos(upd, id int64) (int, bool) {
	return slices.BinarySearchFunc(c.byUpd, updEntry{upd: upd}, func(e, k updEntry) int {
		if e.upd != k.upd {
			return cmpID(e.upd, k.upd)
		}
		return cmpID(e.rec.ID, id)
	})
}

func (c *collection) indexInsert(e updEntry) {
	if c.byUpd == nil {
		return
	}
	i, _ := c.indexPos(e.upd, e.rec.ID)
	c.byUpd = slices.Insert(c.byUpd, i, e)
}

func (c *collection) indexRemove(upd, id int64) {
	if c.byUpd == nil {
		return
	}
	if i, ok := c.indexPos(upd, id); ok {
		c.byUpd = slices.Delete(c.byUpd, i, i+1)
	}
}

// indexReplace moves a record's index row from its old updatedAt key to its
// new one, shifting only the rows between the two positions.
func (c *collection) indexReplace(oldUpd int64, r *record, upd int64) {
	if c.byUpd == nil {
		return
	}
	i, ok := c.indexPos(oldUpd, r.ID)
	if !ok {
		return // cannot happen: every stored record has a row
	}
	e := updEntry{upd: upd, rec: r}
	if upd == oldUpd {
		c.byUpd[i] = e
		return
	}
	// j: the new row's position with the old row still in place.
	j, _ := c.indexPos(upd, r.ID)
	idx := c.byUpd
	if j <= i {
		copy(idx[j+1:i+1], idx[j:i])
		idx[j] = e
	} else {
		copy(idx[i:j-1], idx[i+1:j])
		idx[j-1] = e
	}
}

// linkActivity keeps the inverse activity relationships (activityTasks, ...)
// of targets in step with an activity's activityTargets. Targets keep their
// updatedAt. The caller holds the write lock.
func (s *store) linkActivity(typ string, old, cur *record) {
	inverse, ok := activityTypes[typ]
	if !ok {
		return
	}
	var before, after []ref
	self := ref{Type: typ}
	if old != nil {
		before, self.ID = old.Rels["activityTargets"], old.idString()
	}
	if cur != nil {
		after, self.ID = cur.Rels["activityTargets"], cur.idString()
	}
	edit := func(t ref, add bool) {
		c, ok := s.cols[t.Type]
		if !ok {
			return
		}
		id, err := strconv.ParseInt(t.ID, 10, 64)
		if err != nil {
			return
		}
		rec, ok := c.byID[id]
		if !ok {
			return
		}
		has := slices.Contains(rec.Rels[inverse], self)
		if has == add {
			return
		}
		n := rec.clone()
		if add {
			n.Rels[inverse] = append(n.Rels[inverse], self)
		} else {
			n.Rels[inverse] = slices.DeleteFunc(n.Rels[inverse], func(x ref) bool { return x == self })
		}
		c.replace(n)
	}
	for _, t := range before {
		if !slices.Contains(after, t) {
			edit(t, false)
		}
	}
	for _, t := range after {
		edit(t, true)
	}
}

// linkOwned keeps an owner's "addresses" in step with a write of one of its addresses (ContactAddress.owner is
// the owning side), ordered as Oro orders the collection: primary first, then by id. The owner's updatedAt stays:
// Oro changes an address without touching its owner.
func (s *store) linkOwned(typ string, old, cur *record) {
	ownerType, ok := owned[typ]
	if !ok {
		return
	}
	c, ok := s.cols[ownerType]
	if !ok {
		return
	}
	var self ref
	var owners []ref
	if old != nil {
		self = ref{Type: typ, ID: old.idString()}
		owners = append(owners, old.Rels["owner"]...)
	}
	if cur != nil {
		self = ref{Type: typ, ID: cur.idString()}
		owners = append(owners, cur.Rels["owner"]...)
	}
	for _, o := range owners {
		id, err := strconv.ParseInt(o.ID, 10, 64)
		if err != nil {
			continue
		}
		rec, ok := c.byID[id]
		if !ok {
			continue
		}
		n := rec.clone()
		list := slices.DeleteFunc(slices.Clone(n.Rels["addresses"]), func(x ref) bool { return x == self })
		if cur != nil && slices.Contains(cur.Rels["owner"], ref{Type: ownerType, ID: rec.idString()}) {
			list = append(list, self)
		}
		n.Rels["addresses"] = s.primaryFirst(typ, list)
		c.replace(n)
	}
}

// primaryFirst orders addresses as Oro's OrderBy({"primary": "DESC"}) does, ids breaking ties.
func (s *store) primaryFirst(typ string, list []ref) []ref {
	c := s.cols[typ]
	primary := func(x ref) bool {
		id, _ := strconv.ParseInt(x.ID, 10, 64)
		r, ok := c.byID[id]
		p, _ := r.Attrs["primary"].(bool)
		return ok && p
	}
	slices.SortStableFunc(list, func(a, b ref) int {
		if pa, pb := primary(a), primary(b); pa != pb {
			return -boolSign(pa)
		}
		ai, _ := strconv.ParseInt(a.ID, 10, 64)
		bi, _ := strconv.ParseInt(b.ID, 10, 64)
		return cmpID(ai, bi)
	})
	return list
}

// removeOwned deletes the addresses of a deleted owner (their owner_id is ON DELETE CASCADE).
func (s *store) removeOwned(typ string, old *record) {
	for addrType, ownerType := range owned {
		if ownerType != typ {
			continue
		}
		c, ok := s.cols[addrType]
		if !ok {
			continue
		}
		for _, a := range old.Rels["addresses"] {
			id, err := strconv.ParseInt(a.ID, 10, 64)
			if err != nil {
				continue
			}
			if _, ok := c.byID[id]; ok {
				c.drop(id)
			}
		}
	}
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
	case kindBool:
		var v bool
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		r.Attrs[a.Name] = v
	case kindFloat:
		var v float64
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		r.Attrs[a.Name] = v
	case kindMoney:
		v, err := parseMoney(raw)
		if err != nil {
			return err
		}
		r.Attrs[a.Name] = v
	case kindJSON:
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		r.Attrs[a.Name] = v
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
		if rd.Target != "" && x.Type != rd.Target {
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

// parseMoney accepts a JSON number or numeric string and renders it as Oro
// does: a string with four decimals.
func parseMoney(raw json.RawMessage) (string, error) {
	text := string(raw)
	if s, err := strconv.Unquote(text); err == nil {
		text = s
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return "", fmt.Errorf("%q is not a number", text)
	}
	return strconv.FormatFloat(f, 'f', 4, 64), nil
}
