package adapters_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

func owned(c events.Change, owner, author string) events.Change {
	var o, a *events.OroRef
	if owner != "" {
		o = &events.OroRef{Type: "users", ID: owner}
	}
	if author != "" {
		a = &events.OroRef{Type: "users", ID: author}
	}
	switch {
	case c.Deal != nil:
		d := *c.Deal
		d.Owner = o
		c.Deal = &d
	case c.Interaction != nil:
		in := *c.Interaction
		in.Owner, in.Author = o, a
		c.Interaction = &in
	case c.Comment != nil:
		cm := *c.Comment
		cm.Owner, cm.Author = o, a
		c.Comment = &cm
	}
	c.SourceVersion.PayloadHash += "/owner=" + owner + "/author=" + author
	return c
}

// users reads the user columns of a row of customer_deals, customer_interactions or customer_comments:
// "owner/author" ("-" for none).
func (e *env) users(table, id string) string {
	e.t.Helper()
	q := map[string]string{
		"customer_deals":        `SELECT coalesce(owner_user_id::text, '-') || '/-' FROM customer_deals WHERE id = $1`,
		"customer_interactions": `SELECT coalesce(owner_user_id::text, '-') || '/' || coalesce(author_user_id::text, '-') FROM customer_interactions WHERE id = $1`,
		"customer_comments":     `SELECT '-/' || coalesce(author_user_id::text, '-') FROM customer_comments WHERE id = $1`,
	}[table]
	var s string
	if err := e.db.QueryRow(e.ctx, q, id).Scan(&s); err != nil {
		e.t.Fatalf("%s %s: %v", table, id, err)
	}
	return s
}

// participants reads the userIds of an interaction's participants.
func (e *env) participants(id string) []string {
	e.t.Helper()
	var raw []byte
	if err := e.db.QueryRow(e.ctx, `SELECT participants FROM customer_interactions WHERE id = $1`, id).Scan(&raw); err != nil {
		e.t.Fatal(err)
	}
	var ps []struct {
		UserID string `json:"userId"`
		Name   string `json:"name"`
		Email  string `json:"email"`
	}
	if raw != nil {
		if err := json.Unmarshal(raw, &ps); err != nil {
			e.t.Fatal(err)
		}
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.UserID+" "+p.Name+" <"+p.Email+">")
	}
	return out
}

func TestDealsInteractionsAndCommentsGetTheirOroUsersAsMercatoUsers(t *testing.T) {
	e := newEnv(t, pepperedScope)
	hash := func(email string) string { return rowkit.HashForLookup("pepper", email) }
	ada := e.mercatoUser(scope.TenantID, "ada@example.com", hash("ada@example.com"), false)
	cyd := e.mercatoUser(scope.TenantID, "cyd@example.com", hash("cyd@example.com"), false)
	e.apply(nil, directoryUser("1", 10, "Ada Admin", "ada@example.com"), directoryUser("2", 10, "Bob Sales", "bob@example.com"),
		directoryUser("4", 10, "Cyd", "cyd@example.com"))
	e.apply(nil, contact{id: "1", first: "Ann", last: "One", email: "ann@x.example", sec: 10}.change(), account{id: "7", name: "Acme", sec: 10}.change())
	adaDeal := owned(dealChange("9", 10, "Ada's deal", []events.OroRef{ref("contacts", "1")}, nil), "1", "")
	bobDeal := owned(dealChange("10", 10, "Bob's deal", nil, []events.OroRef{ref("accounts", "7")}), "2", "")
	task := owned(interactionChange("tasks", "3", 10, "Follow up", ref("contacts", "1")), "4", "1")
	call := owned(interactionChange("calls", "5", 10, "Called", ref("contacts", "1"), ref("users", "1"), ref("users", "2")), "1", "")
	adaNote := owned(noteChange("6", 10, "Ada's note", ref("contacts", "1"), ref("accounts", "7")), "1", "1")
	bobNote := owned(noteChange("8", 10, "Bob's note", ref("contacts", "1")), "2", "2")
	e.apply(nil, adaDeal, bobDeal, task, call, adaNote, bobNote)
	id := func(aggregate, external string) string {
		e.t.Helper()
		got, _ := e.mapped(aggregate, external)
		if got == "" {
			t.Fatalf("%s %s not written", aggregate, external)
		}
		return got
	}
	deal9, deal10 := id(events.AggregateDeal, "opportunities:9"), id(events.AggregateDeal, "opportunities:10")
	task3, call5 := id(events.AggregateInteraction, "tasks:3"), id(events.AggregateInteraction, "calls:5")
	none, a, c := "-", ada.String(), cyd.String()

	t.Run("a deal's owner is owner_user_id", func(t *testing.T) {
		if got := e.users("customer_deals", deal9); got != a+"/-" {
			t.Errorf("deal 9 users %s, want Ada as owner", got)
		}
	})
	t.Run("a task's owner is its assignee, owner_user_id, and its creator the author", func(t *testing.T) {
		if got := e.users("customer_interactions", task3); got != c+"/"+a {
			t.Errorf("task 3 owner/author %s, want Cyd/Ada", got)
		}
	})
	t.Run("a call's owner is its author, its user targets its participants", func(t *testing.T) {
		if got := e.users("customer_interactions", call5); got != none+"/"+a {
			t.Errorf("call 5 owner/author %s, want none/Ada", got)
		}
		if got, want := e.participants(call5), []string{a + " Ada Admin <ada@example.com>"}; !slices.Equal(got, want) {
			t.Errorf("call 5 participants %q, want %q (Bob has no Mercato user)", got, want)
		}
	})
	t.Run("a note's author is every comment row's author", func(t *testing.T) {
		n := e.count(`SELECT count(*) FROM customer_comments WHERE author_user_id = $1`, ada)
		if n != 2 {
			t.Errorf("%d comments by Ada, want 2 (note 6 on a contact and an account)", n)
		}
	})
	t.Run("unmatched users are kept in custom fields and parked", func(t *testing.T) {
		if got := e.users("customer_deals", deal10); got != "-/-" {
			t.Errorf("deal 10 users %s, want none", got)
		}
		if got := e.customFieldRows("customers:customer_deal"); !slices.Equal(got, []string{deal10 + " oro_owner text=Bob Sales <bob@example.com>"}) {
			t.Errorf("deal custom fields %q", got)
		}
		if n := e.count(`SELECT count(*) FROM customer_comments WHERE author_user_id IS NULL`); n != 1 {
			t.Errorf("%d comments without an author, want 1 (note 8)", n)
		}
		parked := e.count(`SELECT count(*) FROM orosync_waiting_refs WHERE target_source_type = 'users' AND target_source_id = '2'`)
		if parked != 3 {
			t.Errorf("%d records wait for Bob, want 3 (deal 10, call 5, note 8)", parked)
		}
	})

	bob := e.mercatoUser(scope.TenantID, "bob@example.com", hash("bob@example.com"), false)
	before := map[string]int{}
	for _, ev := range []string{"customers.deal.updated", "customers.interaction.updated", "customers.comment.updated"} {
		before[ev] = len(e.events(ev))
	}
	e.apply(nil, directoryUser("2", 10, "Bob Sales", "bob@example.com")) // a replay of Bob's version
	t.Run("a Mercato user created later is matched when the Oro user is synced again", func(t *testing.T) {
		if got := e.users("customer_deals", deal10); got != bob.String()+"/-" {
			t.Errorf("deal 10 users %s, want Bob as owner", got)
		}
		if got := e.customFieldRows("customers:customer_deal"); len(got) != 0 {
			t.Errorf("deal custom fields %q, want none", got)
		}
		if got := e.participants(call5); len(got) != 2 || !strings.HasPrefix(got[1], bob.String()) {
			t.Errorf("call 5 participants %q, want Ada and Bob", got)
		}
		if n := e.count(`SELECT count(*) FROM customer_comments WHERE author_user_id = $1`, bob); n != 1 {
			t.Errorf("%d comments by Bob, want 1", n)
		}
		if n := e.count(`SELECT count(*) FROM orosync_waiting_refs`); n != 0 {
			t.Errorf("%d parked references, want none", n)
		}
		for ev, n := range before {
			if got := len(e.events(ev)) - n; got != 1 {
				t.Errorf("%d new %s events, want 1", got, ev)
			}
		}
	})
	t.Run("applied again nothing is written", func(t *testing.T) {
		outbox := e.count(`SELECT count(*) FROM orosync_outbox`)
		e.apply(nil, adaDeal, bobDeal, task, call, adaNote, bobNote, directoryUser("2", 10, "Bob Sales", "bob@example.com"))
		if n := e.count(`SELECT count(*) FROM orosync_outbox`); n != outbox {
			t.Errorf("outbox grew from %d to %d", outbox, n)
		}
	})
	t.Run("a version without an owner clears it", func(t *testing.T) {
		d := dealChange("9", 20, "Ada's deal", []events.OroRef{ref("contacts", "1")}, nil)
		e.apply(nil, d)
		if got := e.users("customer_deals", deal9); got != "-/-" {
			t.Errorf("deal 9 users %s, want none", got)
		}
	})
}
