package adapters_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

// pepperedScope is scope with a lookup-hash pepper, so users' email_hash is Mercato's keyed (v2) hash.
var pepperedScope = adapters.Scope{TenantID: scope.TenantID, OrganizationID: scope.OrganizationID, Pepper: "pepper"}

// mercatoUser inserts a Mercato user as its create command writes it (auth/commands/users.ts: email_hash =
// computeEmailHash(email)) and returns its id.
func (e *env) mercatoUser(tenant uuid.UUID, email, hash string, deleted bool) uuid.UUID {
	e.t.Helper()
	id := uuid.New()
	var deletedAt *time.Time
	if deleted {
		now := time.Now()
		deletedAt = &now
	}
	if _, err := e.db.Exec(e.ctx, `INSERT INTO users (id, tenant_id, organization_id, email, email_hash, name, created_at, updated_at, deleted_at)
VALUES ($1, $2, $3, $4, $5, 'Mercato user', now(), now(), $6)`, id, tenant, scope.OrganizationID, email, hash, deletedAt); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func withOwner(c events.Change, id string) events.Change {
	owner := &events.OroRef{Type: "users", ID: id}
	switch {
	case c.Person != nil:
		p := *c.Person
		p.Owner = owner
		c.Person = &p
	case c.Company != nil:
		co := *c.Company
		co.Owner = owner
		c.Company = &co
	}
	c.SourceVersion.PayloadHash += "/owner=" + id
	return c
}

func directoryUser(id string, sec int, name, email string) events.Change {
	c := userChange(id, sec, name)
	c.User.Email = &email
	c.SourceVersion.PayloadHash = name + email
	return c
}

// owner reads customer_entities.owner_user_id of an entity.
func (e *env) owner(entity uuid.UUID) *uuid.UUID {
	e.t.Helper()
	var u *uuid.UUID
	if err := e.db.QueryRow(e.ctx, `SELECT owner_user_id FROM customer_entities WHERE id = $1`, entity).Scan(&u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) oroOwnerValues(entity string) []string {
	e.t.Helper()
	return slices.DeleteFunc(e.customFieldRows(entity), func(s string) bool { return !strings.Contains(s, " oro_owner ") })
}

func same(a, b *uuid.UUID) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func TestOwnersAreMatchedToMercatoUsersOfTheTenantByEmail(t *testing.T) {
	e := newEnv(t, pepperedScope)
	ada := e.mercatoUser(scope.TenantID, "ada@example.com", rowkit.HashForLookup("pepper", "ada@example.com"), false)
	// The same email in another tenant, and a deleted user of this tenant, are no match.
	e.mercatoUser(uuid.New(), "bob@example.com", rowkit.HashForLookup("pepper", "bob@example.com"), false)
	e.mercatoUser(scope.TenantID, "bob@example.com", rowkit.HashForLookup("pepper", "bob@example.com"), true)
	// A user written before a pepper was set keeps the legacy hash; Mercato still finds it (lookupHashCandidates).
	cyd := e.mercatoUser(scope.TenantID, "cyd@example.com", rowkit.HashForLookup("", "cyd@example.com"), false)

	e.apply(nil, directoryUser("1", 10, "Ada Admin", " ADA@Example.com"), directoryUser("2", 10, "Bob Sales", "bob@example.com"),
		directoryUser("4", 10, "Cyd", "cyd@example.com"))
	adaContact := withOwner(contact{id: "1", first: "Ann", last: "One", email: "ann@x.example", sec: 10}.change(), "1")
	bobContact := withOwner(contact{id: "2", first: "Ben", last: "Two", email: "ben@x.example", sec: 10}.change(), "2")
	lateContact := withOwner(contact{id: "3", first: "Cat", last: "Three", email: "cat@x.example", sec: 10}.change(), "3")
	cydAccount := withOwner(account{id: "7", name: "Acme", sec: 10}.change(), "4")
	e.apply(nil, adaContact, bobContact, lateContact, cydAccount)

	t.Run("a person and a company get the user with their owner's email", func(t *testing.T) {
		if got := e.owner(e.person("1").entityID); !same(got, &ada) {
			t.Errorf("contact 1 owner = %v, want Ada %v", got, ada)
		}
		if got := e.owner(e.company("7").entityID); !same(got, &cyd) {
			t.Errorf("account 7 owner = %v, want Cyd %v (legacy hash)", got, cyd)
		}
	})
	t.Run("an unmatched owner is kept in a custom field and parked", func(t *testing.T) {
		if got := e.owner(e.person("2").entityID); got != nil {
			t.Errorf("contact 2 owner = %v, want none: Bob has no live Mercato user in the tenant", got)
		}
		got := e.oroOwnerValues("customers:customer_person_profile")
		want := []string{e.profileID("2") + " oro_owner text=Bob Sales <bob@example.com>", e.profileID("3") + " oro_owner text=users:3"}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("oro_owner values = %q, want %q", got, want)
		}
		if n := e.count(`SELECT count(*) FROM orosync_waiting_refs WHERE target_source_type = 'users'`); n != 2 {
			t.Errorf("%d parked owner references, want 2 (contacts 2 and 3)", n)
		}
	})
	t.Run("an owner synced after the record resolves when it arrives", func(t *testing.T) {
		cat := e.mercatoUser(scope.TenantID, "cat@example.com", rowkit.HashForLookup("pepper", "cat@example.com"), false)
		before := len(e.events("customers.person.updated"))
		e.apply(nil, directoryUser("3", 20, "Cat Owner", "cat@example.com"))
		if got := e.owner(e.person("3").entityID); !same(got, &cat) {
			t.Errorf("contact 3 owner = %v, want %v", got, cat)
		}
		if got := e.oroOwnerValues("customers:customer_person_profile"); len(got) != 1 {
			t.Errorf("oro_owner values = %q, want Bob's only", got)
		}
		if n := len(e.events("customers.person.updated")) - before; n != 1 {
			t.Errorf("%d customers.person.updated events for the owner set, want 1", n)
		}
	})
	t.Run("a Mercato user created later is matched when the Oro user is synced again", func(t *testing.T) {
		bob := e.mercatoUser(scope.TenantID, "bob@example.com", rowkit.HashForLookup("pepper", "bob@example.com"), false)
		e.apply(nil, directoryUser("2", 10, "Bob Sales", "bob@example.com")) // a replay of the same version
		if got := e.owner(e.person("2").entityID); !same(got, &bob) {
			t.Errorf("contact 2 owner = %v, want %v", got, bob)
		}
		if got := e.oroOwnerValues("customers:customer_person_profile"); len(got) != 0 {
			t.Errorf("oro_owner values = %q, want none", got)
		}
		if n := e.count(`SELECT count(*) FROM orosync_waiting_refs`); n != 0 {
			t.Errorf("%d parked references, want none", n)
		}
	})
	t.Run("applied again nothing is written", func(t *testing.T) {
		outbox := e.count(`SELECT count(*) FROM orosync_outbox`)
		e.apply(nil, adaContact, bobContact, lateContact, cydAccount, directoryUser("3", 20, "Cat Owner", "cat@example.com"))
		if n := e.count(`SELECT count(*) FROM orosync_outbox`); n != outbox {
			t.Errorf("outbox grew from %d to %d", outbox, n)
		}
	})
	t.Run("a version without an owner clears it", func(t *testing.T) {
		c := contact{id: "1", first: "Ann", last: "One", email: "ann@x.example", sec: 30}.change()
		e.apply(nil, c)
		if got := e.owner(e.person("1").entityID); got != nil {
			t.Errorf("contact 1 owner = %v, want none", got)
		}
	})
}

func (e *env) profileID(contactID string) string {
	e.t.Helper()
	var id uuid.UUID
	if err := e.db.QueryRow(e.ctx, `SELECT id FROM customer_people WHERE entity_id = $1`, e.person(contactID).entityID).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	return id.String()
}
