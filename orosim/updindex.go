package orosim

import (
	"math"
	"sort"
)

// updRange is what the updatedAt filters of a request select from the
// (updatedAt, id) index: the keys [lo, hi), and the conditions still to
// check row by row (every other filter, and updatedAt filters a single
// range does not express exactly).
type updRange struct {
	lo, hi   int64
	bounded  bool // some filter needs a non-null updatedAt: nulls are out
	residual []*condition
}

func isUpdatedAtCond(c *condition) bool { return c.f.Name == "updatedAt" && c.f.int1 != nil }

func (q *listQuery) updatedAtRange() updRange {
	r := updRange{lo: math.MinInt64, hi: math.MaxInt64}
	for i := range q.conds {
		c := &q.conds[i]
		if !isUpdatedAtCond(c) || len(c.ivals) == 0 {
			r.residual = append(r.residual, c)
			continue
		}
		minLo, maxLo := c.ivals[0].lo, c.ivals[0].lo
		minHi, maxHi := c.ivals[0].hi, c.ivals[0].hi
		for _, iv := range c.ivals[1:] {
			minLo, maxLo = min(minLo, iv.lo), max(maxLo, iv.lo)
			minHi, maxHi = min(minHi, iv.hi), max(maxHi, iv.hi)
		}
		// Each operator's meaning in matchOrdered, for one value: some
		// interval satisfies it. None of them matches a null.
		switch c.op {
		case "gte":
			r.lo = max(r.lo, minLo)
		case "gt":
			r.lo = max(r.lo, minHi)
		case "lt":
			r.hi = min(r.hi, maxLo)
		case "lte":
			r.hi = min(r.hi, maxHi)
		case "eq":
			r.lo, r.hi = max(r.lo, minLo), min(r.hi, maxHi)
			if len(c.ivals) > 1 {
				r.residual = append(r.residual, c) // a union of intervals
			}
		default: // neq, neq_or_null, exists: checked row by row
			r.residual = append(r.residual, c)
			continue
		}
		r.bounded = true
	}
	if r.bounded {
		r.lo = max(r.lo, noUpdatedAt+1)
	}
	return r
}

// matches checks the residual conditions; updatedAt ones read the index key.
func (r *updRange) matches(e updEntry) bool {
	for _, c := range r.residual {
		if isUpdatedAtCond(c) {
			var buf [1]int64
			vals := buf[:0]
			if e.upd != noUpdatedAt {
				vals = append(vals, e.upd)
			}
			if !c.matchOrdered(vals) {
				return false
			}
		} else if !c.match(e.rec) {
			return false
		}
	}
	return true
}

// listByUpdated answers a list request whose sort starts with updatedAt
// from the collection's (updatedAt, id) index; the caller holds the read
// lock. It walks the rows of the updatedAt filter's range in the requested
// order, group by group of equal updatedAt (a group comes in id order,
// reversed, or sorted by the rest of the sort), and stops once the page
// and one more row are found, so its cost follows the page (plus offset),
// not the type. Only X-Include: totalCount with filters the range does not
// absorb costs a pass over the range.
//
// The order is sortRecords' (PostgreSQL's): NULLs last ascending, first
// descending, ties in id order.
func listByUpdated(c *collection, q *listQuery) result {
	idx := c.byUpd
	desc := q.sort[0].desc
	rest := q.sort[1:]
	for len(rest) > 0 && rest[0].sorter.Name == "updatedAt" {
		rest = rest[1:] // equal within a group
	}
	const (
		forward = iota
		backward
		sorted
	)
	mode := sorted
	switch {
	case len(rest) == 0, rest[0].sorter.Name == "id" && !rest[0].desc:
		mode = forward
	case rest[0].sorter.Name == "id":
		mode = backward
	}

	rng := q.updatedAtRange()
	firstAtLeast := func(from, to int, key int64) int {
		return from + sort.Search(to-from, func(k int) bool { return idx[from+k].upd >= key })
	}
	// Non-null rows in range: [a, b); null rows: [0, nulls).
	nulls := firstAtLeast(0, len(idx), noUpdatedAt+1)
	a, b := nulls, len(idx)
	if rng.bounded {
		nulls = 0
		a = firstAtLeast(0, len(idx), rng.lo)
		b = a
		if rng.hi > rng.lo {
			b = firstAtLeast(a, len(idx), rng.hi)
		}
	}

	res := result{total: -1}
	skip, need := q.offset, q.limit
	full := false // the page is complete and another row exists
	take := func(r *record) {
		switch {
		case skip > 0:
			skip--
		case need >= 0 && len(res.records) == need:
			full = true
		default:
			res.records = append(res.records, r)
		}
	}
	// group emits idx[gs:ge], rows of one updatedAt value.
	group := func(gs, ge int) {
		if len(rng.residual) == 0 && skip >= ge-gs {
			skip -= ge - gs
			return
		}
		switch mode {
		case forward, backward:
			k := 0
			if len(rng.residual) == 0 {
				k, skip = skip, 0
			}
			for ; k < ge-gs && !full; k++ {
				i := gs + k
				if mode == backward {
					i = ge - 1 - k
				}
				if len(rng.residual) == 0 || rng.matches(idx[i]) {
					take(idx[i].rec)
				}
			}
		case sorted:
			recs := make([]*record, 0, ge-gs)
			upd := make([]int64, 0, ge-gs)
			for _, e := range idx[gs:ge] {
				if len(rng.residual) == 0 || rng.matches(e) {
					recs = append(recs, e.rec)
					upd = append(upd, e.upd)
				}
			}
			if skip >= len(recs) {
				skip -= len(recs)
				return
			}
			want := -1
			if need >= 0 {
				want = skip + need - len(res.records) + 1
			}
			for _, r := range sortRecords(recs, upd, rest, want) {
				if take(r); full {
					return
				}
			}
		}
	}
	if desc && nulls > 0 {
		group(0, nulls)
	}
	switch {
	case !desc && mode == forward, desc && mode == backward:
		// Groups in a row keep the index order (or its reverse): one run.
		group(a, b)
	case desc:
		for ge := b; ge > a && !full; {
			gs := firstAtLeast(a, ge, idx[ge-1].upd)
			group(gs, ge)
			ge = gs
		}
	default:
		for gs := a; gs < b && !full; {
			ge := b
			if v := idx[gs].upd; v < math.MaxInt64 {
				ge = firstAtLeast(gs, b, v+1)
			}
			group(gs, ge)
			gs = ge
		}
	}
	if !desc && nulls > 0 && !full {
		group(0, nulls)
	}
	res.hasMore = full

	switch {
	case len(rng.residual) == 0:
		res.total = b - a + nulls
	case q.limit < 0:
		res.total = len(res.records) // offset is 0 when unlimited
	case q.countTotal:
		n := 0
		for _, e := range idx[a:b] {
			if rng.matches(e) {
				n++
			}
		}
		for _, e := range idx[:nulls] {
			if rng.matches(e) {
				n++
			}
		}
		res.total = n
	}
	return res
}
