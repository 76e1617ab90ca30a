package orosim

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSeedIsDeterministic(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	a, b := seedContacts(300, 7, now), seedContacts(300, 7, now)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed produced different contacts")
	}
	if c := seedContacts(300, 8, now); reflect.DeepEqual(a, c) {
		t.Fatal("different seeds produced the same contacts")
	}
}

func TestSeedDataIsRealistic(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	recs := seedContacts(500, 1, now)
	var noEmail, unicodeName, jobTitle, withAccounts, primaryNull int
	updated := map[time.Time]int{}
	for i, r := range recs {
		if r.ID != int64(i+1) {
			t.Fatalf("record %d has id %d", i, r.ID)
		}
		emails := r.list("emails")
		if len(emails) > 3 || len(r.list("phones")) > 3 {
			t.Errorf("contact %d: %d emails %d phones", r.ID, len(emails), len(r.list("phones")))
		}
		if len(emails) == 0 {
			noEmail++
		}
		if p, ok := r.str("primaryEmail"); ok && !slices.Contains(emails, p) {
			t.Errorf("contact %d: primaryEmail %q not in %v", r.ID, p, emails)
		} else if !ok {
			primaryNull++
		}
		fn, _ := r.str("firstName")
		ln, _ := r.str("lastName")
		if fn == "" && ln == "" && len(emails) == 0 && len(r.list("phones")) == 0 {
			t.Errorf("contact %d has neither name, email nor phone", r.ID)
		}
		if utf8.RuneCountInString(fn+ln) != len(fn+ln) {
			unicodeName++
		}
		if _, ok := r.str("jobTitle"); ok {
			jobTitle++
		}
		if len(r.Rels["accounts"]) > 0 {
			withAccounts++
		}
		c, _ := r.timeAttr("createdAt")
		u, _ := r.timeAttr("updatedAt")
		if c.After(u) || !u.Before(now) || u.Nanosecond() != 0 {
			t.Errorf("contact %d: createdAt %v updatedAt %v now %v", r.ID, c, u, now)
		}
		updated[u]++
	}
	shared := 0
	for _, n := range updated {
		if n > 1 {
			shared += n
		}
	}
	for name, n := range map[string]int{
		"without email": noEmail, "with a non-ASCII name": unicodeName, "with a job title": jobTitle,
		"with accounts": withAccounts, "with primaryEmail null": primaryNull, "sharing their updatedAt second": shared,
	} {
		if n < 20 {
			t.Errorf("only %d of 500 contacts %s", n, name)
		}
	}
}

func TestSeededNamesIncludeHardUnicode(t *testing.T) {
	h := newHarness(t, Config{Contacts: 400})
	d, _ := h.getDoc("/api/contacts?page[size]=-1&fields[contacts]=firstName,lastName", http.StatusOK, "X-Include", "noHateoas")
	var all strings.Builder
	for _, r := range d["data"].([]any) {
		a := attrs(r)
		for _, k := range []string{"firstName", "lastName"} {
			if s, ok := a[k].(string); ok {
				all.WriteString(s + " ")
			}
		}
	}
	for _, want := range []string{"Zoë", "Łukasz", "José", "王", "Søren", "Ñuño", "Ğül"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no %q among seeded names", want)
		}
	}
}

func TestSeedVariety(t *testing.T) {
	recs := seedContacts(2000, 3, time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC))
	owners := map[string]int{}
	accounts := map[int]int{}
	noEmail := 0
	for _, r := range recs {
		if len(r.list("emails")) == 0 {
			noEmail++
		}
		for _, e := range r.list("emails") {
			owners[e]++
		}
		accounts[len(r.Rels["accounts"])]++
	}
	shared := 0
	for _, n := range owners {
		if n > 1 {
			shared++
		}
	}
	t.Run("shares some emails, leaves some contacts without one", func(t *testing.T) {
		if shared == 0 || noEmail == 0 {
			t.Errorf("%d shared addresses, %d contacts without email", shared, noEmail)
		}
	})
	t.Run("puts contacts in none to three accounts", func(t *testing.T) {
		for k := 0; k <= 3; k++ {
			if accounts[k] == 0 {
				t.Errorf("no contact in %d accounts: %v", k, accounts)
			}
		}
	})
	t.Run("puts none in more", func(t *testing.T) {
		if len(accounts) != 4 {
			t.Errorf("account counts %v, want 0..3", accounts)
		}
	})
}

func TestCRMSeedSharesUpdatedAtAcrossPages(t *testing.T) {
	h := newHarness(t, Config{Contacts: 40, Counts: map[string]int{"leads": 200, "tasks": 200}})
	for _, typ := range []string{"leads", "tasks"} {
		d, _ := h.getDoc("/api/"+typ+"?sort=updatedAt&page[size]=-1&fields["+typ+"]=updatedAt", http.StatusOK)
		seen := map[string]int{}
		for _, r := range d["data"].([]any) {
			seen[attrs(r)["updatedAt"].(string)]++
		}
		if len(seen) >= 200 {
			t.Errorf("%s: every updatedAt distinct", typ)
		}
	}
	a := New(Config{Contacts: 30, Counts: map[string]int{"opportunities": 20, "tasks": 20}, Seed: 9})
	b := New(Config{Contacts: 30, Counts: map[string]int{"opportunities": 20, "tasks": 20}, Seed: 9})
	for _, typ := range []string{"opportunities", "tasks", "accounts", "contacts"} {
		for _, id := range a.store.ids(typ) {
			n, _ := parseID(id)
			x, _ := a.store.get(typ, n)
			y, _ := b.store.get(typ, n)
			if !reflect.DeepEqual(x.Attrs, y.Attrs) || !reflect.DeepEqual(x.Rels, y.Rels) {
				t.Fatalf("%s %s differs between two seeds of the same value", typ, id)
			}
		}
	}
}
