package adapters_test

import (
	"testing"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters"
	"github.com/orosync/orosync/services/writer/domain"
)

// companyValues reads the fields a company conflict is about.
func (e *env) companyValues(oroID string) (legal, website string, deleted bool) {
	e.t.Helper()
	var l, w *string
	if err := e.db.QueryRow(e.ctx, `SELECT c.legal_name, c.website_url, en.deleted_at IS NOT NULL
FROM sync_external_id_mappings m JOIN customer_entities en ON en.id = m.internal_entity_id JOIN customer_companies c ON c.entity_id = en.id
WHERE m.internal_entity_type = 'customers.company' AND m.external_id = 'accounts:' || $1`, oroID).Scan(&l, &w, &deleted); err != nil {
		e.t.Fatal(err)
	}
	return deref(l), deref(w), deleted
}

// editCompanyInMercato changes a company's legal name as a Mercato user would, at the given time.
func (e *env) editCompanyInMercato(oroID string, at time.Time, legal string) {
	e.t.Helper()
	id := e.company(oroID).entityID
	if _, err := e.db.Exec(e.ctx, `UPDATE customer_companies SET legal_name = $1, updated_at = $2 WHERE entity_id = $3`, legal, at, id); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.Exec(e.ctx, `UPDATE customer_entities SET updated_at = $1 WHERE id = $2`, at, id); err != nil {
		e.t.Fatal(err)
	}
}

// bothChanged sets up a company changed in Mercato (legal name, at localAt) and then in Oro (legal name and
// website, at second 20), applied under rules.
func bothChanged(t *testing.T, rules domain.Rules, localAt time.Time) *env {
	e := newEnv(t, scope)
	e.apply(rules, account{id: "7", name: "Acme", sec: 10}.change())
	e.editCompanyInMercato("7", localAt, "Local Legal")
	v2 := account{id: "7", name: "Acme", sec: 20}.change()
	v2.SourceVersion.PayloadHash = "v2"
	v2.Company.LegalName, v2.Company.WebsiteURL = ptr("Oro Legal"), ptr("https://new.example")
	e.apply(rules, v2)
	return e
}

func companyRules(p domain.Policy) domain.Rules {
	return domain.Rules{events.AggregateCompany: {Default: p}}
}

var oroTime = time.Unix(1_700_000_020, 0).UTC()

func TestCompanyChangedOnBothSidesUnderOroWinsTakesOrosValues(t *testing.T) {
	e := bothChanged(t, companyRules(domain.OroWins), oroTime.Add(-time.Minute))
	if legal, web, _ := e.companyValues("7"); legal != "Oro Legal" || web != "https://new.example" {
		t.Errorf("legal %q website %q", legal, web)
	}
	if n := len(e.openConflicts()); n != 0 {
		t.Errorf("%d conflicts under oro-wins", n)
	}
}

func TestCompanyChangedOnBothSidesUnderMercatoWinsKeepsMercatosValues(t *testing.T) {
	e := bothChanged(t, companyRules(domain.MercatoWins), oroTime.Add(-time.Minute))
	if legal, web, _ := e.companyValues("7"); legal != "Local Legal" || web != "https://7.example" {
		t.Errorf("legal %q website %q", legal, web)
	}
}

func TestCompanyChangedOnBothSidesUnderLastWriteWinsTakesTheNewerSide(t *testing.T) {
	older := bothChanged(t, companyRules(domain.LastWriteWins), oroTime.Add(-time.Minute))
	if legal, _, _ := older.companyValues("7"); legal != "Oro Legal" {
		t.Errorf("Mercato edited before Oro: legal %q, want Oro's", legal)
	}
	newer := bothChanged(t, companyRules(domain.LastWriteWins), oroTime.Add(time.Minute))
	if legal, web, _ := newer.companyValues("7"); legal != "Local Legal" || web != "https://7.example" {
		t.Errorf("Mercato edited after Oro: legal %q website %q, want Mercato's", legal, web)
	}
}

func TestCompanyChangedOnBothSidesUnderMergeTakesOneSidedChangesQueuingTheRest(t *testing.T) {
	e := bothChanged(t, companyRules(domain.Merge), oroTime.Add(-time.Minute))
	legal, web, _ := e.companyValues("7")
	if legal != "Local Legal" || web != "https://new.example" {
		t.Errorf("legal %q (changed on both sides: Mercato's until reviewed), website %q (only Oro changed it)", legal, web)
	}
	cs := e.openConflicts()
	if len(cs) != 1 || cs[0].Kind != domain.ConflictFieldMerge || len(cs[0].Fields) != 1 || cs[0].Fields[0] != "legalName" ||
		cs[0].LocalCompany == nil || deref(cs[0].LocalCompany.LegalName) != "Local Legal" || cs[0].BaseCompany == nil ||
		deref(cs[0].BaseCompany.LegalName) != "Acme Ltd" {
		t.Fatalf("conflicts %+v", cs)
	}
	if err := e.store.Resolve(e.ctx, cs[0].ID, adapters.TakeOro); err != nil {
		t.Fatal(err)
	}
	if legal, _, _ := e.companyValues("7"); legal != "Oro Legal" {
		t.Errorf("legal %q after resolving for Oro", legal)
	}
	if n := len(e.events("customers.company.updated")); n != 2 {
		t.Errorf("%d updated events, want 2 (merge, resolution)", n)
	}
}

func TestDeletingALocallyEditedCompanyGoesToReview(t *testing.T) {
	e := newEnv(t, scope)
	v1 := account{id: "7", name: "Acme", sec: 10}.change()
	e.apply(nil, v1)
	e.editCompanyInMercato("7", oroTime, "Local Legal")
	e.apply(nil, companyTombstone(v1))
	if _, _, deleted := e.companyValues("7"); deleted {
		t.Fatal("a locally edited company was deleted without review")
	}
	cs := e.openConflicts()
	if len(cs) != 1 || cs[0].Kind != domain.ConflictDeleteLocalEdit {
		t.Fatalf("conflicts %+v", cs)
	}
	if err := e.store.Resolve(e.ctx, cs[0].ID, adapters.TakeOro); err != nil {
		t.Fatal(err)
	}
	if _, _, deleted := e.companyValues("7"); !deleted {
		t.Error("company not deleted after resolving for Oro")
	}
	if n := len(e.events("customers.company.deleted")); n != 1 {
		t.Errorf("%d deleted events", n)
	}
}
