package orosim

import (
	"reflect"
	"strconv"
	"testing"
	"time"
)

func TestCRMCountsSeedAWholeCRMAtTheRatiosOfARealInstance(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC) }
	counts := CRMCounts(5000)
	s := New(Config{Counts: counts, Seed: 1, Now: now})
	for typ, want := range map[string]int{"contacts": 5000, "contactaddresses": 5000, "accounts": 500, "b2bcustomers": 100,
		"opportunities": 800, "leads": 600, "cases": 100, "tasks": 2000, "calls": 1500, "notes": 1500, "emails": 2000,
		"users": 20, "businessunits": 3, "organizations": 1, "leadaddresses": 300, "addresses": 150} {
		if got := s.Count(typ); got != want {
			t.Errorf("%s: %d records, want %d", typ, got, want)
		}
	}
	perContact := map[int]int{} // contacts by their number of addresses
	inAccounts := map[int]int{} // contacts by their number of accounts
	for _, id := range s.ContactIDs() {
		n, _ := strconv.ParseInt(id, 10, 64)
		c, _ := s.store.get("contacts", n)
		addrs := c.Rels["addresses"]
		perContact[len(addrs)]++
		inAccounts[len(c.Rels["accounts"])]++
		for i, a := range addrs {
			aid, _ := strconv.ParseInt(a.ID, 10, 64)
			r, ok := s.store.get("contactaddresses", aid)
			if !ok {
				t.Fatalf("contact %s points to address %s, which does not exist", id, a.ID)
			}
			if owner := r.Rels["owner"]; len(owner) != 1 || owner[0].ID != id {
				t.Errorf("address %s of contact %s is owned by %v", a.ID, id, owner)
			}
			if r.Attrs["primary"] != (i == 0) {
				t.Errorf("address %s is the %d. of contact %s, primary %v", a.ID, i+1, id, r.Attrs["primary"])
			}
		}
		for _, a := range c.Rels["accounts"] {
			if aid, _ := strconv.Atoi(a.ID); aid < 1 || aid > 500 {
				t.Errorf("contact %s is in account %s, which does not exist", id, a.ID)
			}
		}
	}
	for k := range perContact {
		if k > 3 {
			t.Errorf("%d contacts have %d addresses, more than 3", perContact[k], k)
		}
	}
	for k := range 4 {
		if perContact[k] < 250 {
			t.Errorf("only %d contacts have %d addresses: %v", perContact[k], k, perContact)
		}
	}
	for _, typ := range []string{"leads", "b2bcustomers"} {
		owners := 0
		for _, r := range s.store.cols[typ].sorted {
			for _, rel := range []string{"addresses", "billingAddress", "shippingAddress"} {
				for _, a := range r.Rels[rel] {
					aid, _ := strconv.ParseInt(a.ID, 10, 64)
					if _, ok := s.store.get(a.Type, aid); !ok {
						t.Errorf("%s %d points to %s %s, which does not exist", typ, r.ID, a.Type, a.ID)
					}
				}
			}
			if len(r.Rels["addresses"]) > 0 || len(r.Rels["billingAddress"]) > 0 {
				owners++
			}
		}
		if want := map[string]int{"leads": 300, "b2bcustomers": 100}[typ]; owners != want {
			t.Errorf("%d %s have an address, want %d", owners, typ, want)
		}
	}
	if inAccounts[2] == 0 || inAccounts[3] == 0 {
		t.Errorf("contacts by number of accounts: %v, want some in two and some in three", inAccounts)
	}
	again := New(Config{Counts: CRMCounts(5000), Seed: 1, Now: now})
	for _, typ := range []string{"contacts", "contactaddresses", "accounts", "opportunities", "notes"} {
		if !reflect.DeepEqual(s.store.cols[typ].sorted, again.store.cols[typ].sorted) {
			t.Errorf("%s: the same seed made other records", typ)
		}
	}
}

// BenchmarkSeedAWholeCRM: New with CRMCounts(5000), what orosync sim and the demo start with.
func BenchmarkSeedAWholeCRM(b *testing.B) {
	counts := CRMCounts(5000)
	for b.Loop() {
		New(Config{Counts: counts, Seed: 1})
	}
}
