package orosim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// checkUpdatedIndex compares a collection's (updatedAt, id) index with one
// sorted from scratch.
func checkUpdatedIndex(t *testing.T, s *store, typ string) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.cols[typ]
	want := make([]updEntry, len(c.sorted))
	for i, r := range c.sorted {
		want[i] = updEntry{upd: updatedKey(r), rec: r}
	}
	slices.SortFunc(want, func(a, b updEntry) int {
		if a.upd != b.upd {
			return cmpID(a.upd, b.upd)
		}
		return cmpID(a.rec.ID, b.rec.ID)
	})
	if len(c.byUpd) != len(want) {
		t.Fatalf("%s: index has %d rows, want %d", typ, len(c.byUpd), len(want))
	}
	for i := range want {
		if c.byUpd[i] != want[i] {
			t.Fatalf("%s: index row %d = {%d, id %d}, want {%d, id %d}", typ, i,
				c.byUpd[i].upd, c.byUpd[i].rec.ID, want[i].upd, want[i].rec.ID)
		}
	}
}

// setUpdatedAt stores a new version of a contact with the given updatedAt
// (nil: null), which the API itself never does.
func setUpdatedAt(s *store, id int64, at *time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cols["contacts"]
	r := c.byID[id].clone()
	if at == nil {
		delete(r.Attrs, "updatedAt")
	} else {
		r.Attrs["updatedAt"] = *at
	}
	c.replace(r)
}

// TestUpdatedAtIndexAfterRandomWrites applies random updates, deletes,
// creates, null and backdated updatedAt values, and checks after each batch
// that the index equals a from-scratch sort and that every list sorted by
// updatedAt returns what the full scan returns.
func TestUpdatedAtIndexAfterRandomWrites(t *testing.T) {
	clock := newFakeClock()
	sim := New(Config{Contacts: 1500, Seed: 3, Now: clock.Now})
	s := sim.store
	checkUpdatedIndex(t, s, "contacts")
	rng := rand.New(rand.NewPCG(7, 11))
	ids := func() []string { return sim.ContactIDs() }
	pick := func() string { l := ids(); return l[rng.IntN(len(l))] }
	for round := range 6 {
		for range 400 {
			// Small steps, so many rows share an updatedAt second.
			clock.Set(clock.Now().Add(time.Duration(rng.IntN(3)) * time.Second))
			switch n := rng.IntN(20); {
			case n < 10:
				if err := sim.UpdateContact(pick(), map[string]any{"firstName": fmt.Sprintf("F%d", rng.IntN(5))}); err != nil {
					t.Fatal(err)
				}
			case n < 13:
				if err := sim.DeleteContact(pick()); err != nil {
					t.Fatal(err)
				}
			case n < 16:
				if _, err := sim.CreateContact(map[string]any{"firstName": "New", "lastName": fmt.Sprintf("L%d", rng.IntN(4))}); err != nil {
					t.Fatal(err)
				}
			case n < 18:
				id, _ := strconv.ParseInt(pick(), 10, 64)
				setUpdatedAt(s, id, nil)
			default:
				id, _ := strconv.ParseInt(pick(), 10, 64)
				back := clock.Now().Add(-time.Duration(rng.IntN(90*24*3600)) * time.Second)
				setUpdatedAt(s, id, &back)
			}
		}
		checkUpdatedIndex(t, s, "contacts")
		compareUpdatedAtLists(t, s, round)
	}
}

// compareUpdatedAtLists checks listByUpdated against listScan for sorts
// starting with updatedAt, filters and pages.
func compareUpdatedAtLists(t *testing.T, s *store, round int) {
	t.Helper()
	s.mu.RLock()
	idx := s.cols["contacts"].byUpd
	var keys []int64
	for _, e := range idx {
		if e.upd != noUpdatedAt {
			keys = append(keys, e.upd)
		}
	}
	s.mu.RUnlock()
	at := func(frac float64) string {
		return time.UnixMicro(keys[int(frac*float64(len(keys)-1))]).UTC().Format(time.RFC3339)
	}
	def, _ := s.def("contacts")
	sorts := []string{"updatedAt", "-updatedAt", "updatedAt,id", "updatedAt,-id", "-updatedAt,id", "-updatedAt,-id",
		"updatedAt,firstName", "-updatedAt,-firstName,id", "updatedAt,-updatedAt,-id", "-updatedAt,lastName,-id"}
	filters := []string{"",
		"filter[updatedAt][gte]=" + at(0.5),
		"filter[updatedAt][gt]=" + at(0.2) + "&filter[updatedAt][lte]=" + at(0.7),
		"filter[updatedAt][lt]=" + at(0.3),
		"filter[updatedAt]=" + at(0.6),
		"filter[updatedAt]=" + at(0.4)[:10],
		"filter[updatedAt]=" + at(0.1) + ".." + at(0.9),
		"filter[updatedAt][neq]=" + at(0.99),
		"filter[updatedAt][neq_or_null]=" + at(0.99)[:7],
		"filter[updatedAt][exists]=false",
		"filter[updatedAt][exists]=true&filter[firstName]=F1",
		"filter[firstName]=F2",
		"filter[lastName]=L1&filter[updatedAt][gte]=" + at(0.25),
		"filter[id][gt]=700",
		"filter[updatedAt][gt]=" + at(1),
		"filter[updatedAt][lt]=2000",
	}
	pages := []string{"page[size]=7", "page[size]=7&page[number]=3", "page[size]=50&page[number]=9",
		"page[size]=1000", "page[size]=-1", "page[size]=100&page[number]=40"}
	for _, sortBy := range sorts {
		for _, f := range filters {
			for _, p := range pages {
				raw := "sort=" + sortBy + "&" + p
				if f != "" {
					raw += "&" + f
				}
				q, errs := parseRequest(def, parseQuery(raw), parseOptions{list: true})
				if len(errs) > 0 {
					t.Fatalf("%s: %v", raw, errs)
				}
				for _, countTotal := range []bool{false, true} {
					q.countTotal = countTotal
					got, want := s.list("contacts", q), s.listScan("contacts", q)
					if !slices.Equal(got.records, want.records) || got.hasMore != want.hasMore ||
						(countTotal || got.total >= 0) && got.total != want.total {
						t.Fatalf("round %d, %s (totalCount %v): index gave %d rows %v, hasMore %v, total %d; scan gave %d rows %v, hasMore %v, total %d",
							round, raw, countTotal, len(got.records), idsOf(got.records), got.hasMore, got.total,
							len(want.records), idsOf(want.records), want.hasMore, want.total)
					}
				}
			}
		}
	}
}

func idsOf(recs []*record) []int64 {
	out := make([]int64, 0, min(len(recs), 20))
	for _, r := range recs[:min(len(recs), 20)] {
		out = append(out, r.ID)
	}
	return out
}

// BenchmarkUpdatedAtPage1M is a page of 1,000 of 1,000,000 contacts in
// updatedAt order with no filter, from the index and (for comparison) from
// the full scan the store used before it had one.
func BenchmarkUpdatedAtPage1M(b *testing.B) {
	sim, token := millionServer()
	def, _ := sim.store.def("contacts")
	for _, target := range []string{"sort=updatedAt&page[size]=1000&page[number]=3",
		"sort=-updatedAt&page[size]=1000&page[number]=3",
		"sort=updatedAt,id&page[size]=1000&page[number]=700"} {
		q, errs := parseRequest(def, parseQuery(target), parseOptions{list: true})
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		b.Run("http/"+target, func(b *testing.B) {
			for b.Loop() {
				serve(b, sim, token, "/api/contacts?"+target)
			}
		})
		b.Run("store-index/"+target, func(b *testing.B) {
			for b.Loop() {
				sim.store.list("contacts", q)
			}
		})
		b.Run("store-scan/"+target, func(b *testing.B) {
			for b.Loop() {
				sim.store.listScan("contacts", q)
			}
		})
	}
}
