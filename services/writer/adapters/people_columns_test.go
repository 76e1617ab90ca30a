package adapters_test

import (
	"slices"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/domain"
)

// profiled is a contact with the person columns beyond names and email set.
func profiled(c contact, desc, linkedIn, twitter, source, status string) events.Change {
	ch := c.change()
	p := *ch.Person
	for _, f := range []struct {
		dst **string
		v   string
	}{{&p.Description, desc}, {&p.LinkedInURL, linkedIn}, {&p.TwitterURL, twitter}, {&p.Source, source}, {&p.Status, status}} {
		if f.v != "" {
			*f.dst = ptr(f.v)
		}
	}
	ch.Person = &p
	ch.SourceVersion.PayloadHash += desc + linkedIn + twitter + source + status
	return ch
}

// columns reads the person columns of an Oro contact's person beyond names and email.
func (e *env) columns(oroID string) []string {
	e.t.Helper()
	var desc, linkedIn, twitter, source, status *string
	if err := e.db.QueryRow(e.ctx, `SELECT en.description, pp.linked_in_url, pp.twitter_url, en.source, en.status
FROM customer_entities en JOIN customer_people pp ON pp.entity_id = en.id WHERE en.id = $1`, e.person(oroID).entityID).
		Scan(&desc, &linkedIn, &twitter, &source, &status); err != nil {
		e.t.Fatal(err)
	}
	return []string{deref(desc), deref(linkedIn), deref(twitter), deref(source), deref(status)}
}

func (e *env) dictionaryEntries(kind string) []string {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT value || '|' || label || '|' || normalized_value FROM customer_dictionary_entries
WHERE kind = $1 AND tenant_id = $2 AND organization_id = $3 ORDER BY 1`, kind, scope.TenantID, scope.OrganizationID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestDescriptionProfilesSourceAndStatusLandInThePersonsColumns(t *testing.T) {
	e := newEnv(t, scope)
	ada := contact{id: "1", first: "Ada", last: "Lovelace", email: "ada@x.example", sec: 1}
	e.apply(nil, profiled(ada, "Analyst", "https://www.linkedin.com/in/ada", "https://twitter.com/ada", "web_form", "new"))
	if got, want := e.columns("1"), []string{"Analyst", "https://www.linkedin.com/in/ada", "https://twitter.com/ada", "web_form", "new"}; !slices.Equal(got, want) {
		t.Errorf("columns %v, want %v", got, want)
	}
	// Mercato's people commands ensure status and source entries: value and label trimmed, normalized lower-cased
	// (commands/people.ts, commands/shared.ts ensureDictionaryEntry).
	if got := e.dictionaryEntries("status"); !slices.Equal(got, []string{"new|new|new"}) {
		t.Errorf("status entries %v", got)
	}
	if got := e.dictionaryEntries("source"); !slices.Equal(got, []string{"web_form|web_form|web_form"}) {
		t.Errorf("source entries %v", got)
	}

	t.Run("a new version rewrites them and announces the person", func(t *testing.T) {
		updated := len(e.events("customers.person.updated"))
		ada.sec = 2
		e.apply(nil, profiled(ada, "Mathematician", "", "https://twitter.com/ada_l", "Partner ", "qualified"))
		// Trimmed as Mercato's normalizeOptionalString does.
		if got, want := e.columns("1"), []string{"Mathematician", "<nil>", "https://twitter.com/ada_l", "Partner", "qualified"}; !slices.Equal(got, want) {
			t.Errorf("columns %v, want %v", got, want)
		}
		if n := len(e.events("customers.person.updated")) - updated; n != 1 {
			t.Errorf("%d customers.person.updated, want 1", n)
		}
		if got := e.dictionaryEntries("source"); !slices.Equal(got, []string{"Partner|Partner|partner", "web_form|web_form|web_form"}) {
			t.Errorf("source entries %v", got)
		}
	})
	t.Run("an edit in Mercato is a local edit the conflict policy decides", func(t *testing.T) {
		e.editInMercato("1", time.Unix(1_700_000_500, 0), "description = $3", "", "Edited in Mercato")
		ada.sec = 3
		e.apply(domain.Rules{events.AggregatePerson: {Default: domain.Merge}},
			profiled(ada, "Mathematician", "", "https://twitter.com/ada_l", "Partner ", "canceled"))
		if got, want := e.columns("1"), []string{"Edited in Mercato", "<nil>", "https://twitter.com/ada_l", "Partner", "canceled"}; !slices.Equal(got, want) {
			t.Errorf("columns %v, want %v: Mercato's description kept, Oro's status taken", got, want)
		}
	})
}
