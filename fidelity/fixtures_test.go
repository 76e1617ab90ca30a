package fidelity

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"gopkg.in/yaml.v3"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/mercatodb/dbtest"
	transformer "github.com/orosync/orosync/services/transformer/service"
	writer "github.com/orosync/orosync/services/writer/service"
)

// fixtureRoot holds the repository's copy of Oro's own functional-test fixtures (testdata/README.md).
const fixtureRoot = "../testdata/oro-fixtures/oroinc"

var (
	refPlaceholder  = regexp.MustCompile(`^<toString\(@([A-Za-z0-9_]+)->[A-Za-z0-9_]+\)>$`)
	datePlaceholder = regexp.MustCompile(`^@[A-Za-z0-9_]+->[A-Za-z0-9_]+->format\(`)
)

// aliceValues are the values of Oro's own data fixtures some references stand for (OroCRMCallBundle's call
// directions are named by their name).
var aliceValues = map[string]string{"call_direction_incoming": "incoming", "call_direction_outgoing": "outgoing"}

// fillPlaceholders replaces Oro's Alice placeholders: references by the value they stand for (aliceValues) or the
// fixture name (@contact1 → "contact1"), dates by a fixed time, anything else by "1".
func fillPlaceholders(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = fillPlaceholders(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fillPlaceholders(e)
		}
	case string:
		if m := refPlaceholder.FindStringSubmatch(x); m != nil {
			if v, ok := aliceValues[m[1]]; ok {
				return v
			}
			return m[1]
		}
		if datePlaceholder.MatchString(x) {
			return "2026-01-02T03:04:05Z"
		}
		if strings.HasPrefix(x, "@") || strings.HasPrefix(x, "<") && strings.HasSuffix(x, ">") {
			return "1"
		}
	}
	return v
}

// fixtureRecords are the records of every JSON:API response fixture, placeholders filled.
func fixtureRecords(t *testing.T) []events.RawRecord {
	t.Helper()
	var out []events.RawRecord
	observed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err := filepath.WalkDir(fixtureRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yml") || filepath.Base(filepath.Dir(path)) != "responses" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var doc any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return err
		}
		// Oro compares responses as a superset of the fixture: create responses omit the generated id.
		if d, ok := doc.(map[string]any)["data"].(map[string]any); ok && d["id"] == nil {
			d["id"] = "created1"
			if a, ok := d["attributes"].(map[string]any); ok && a["updatedAt"] == nil {
				a["updatedAt"] = "2026-01-02T03:04:05Z"
			}
		}
		js, err := json.Marshal(fillPlaceholders(doc))
		if err != nil {
			return err
		}
		recs, err := transformer.ParseDocument(js, "acme", observed)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		out = append(out, recs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 30 {
		t.Fatalf("%d fixture records under %s", len(out), fixtureRoot)
	}
	return out
}

var scope = writer.Scope{TenantID: uuid.MustParse("00000000-0000-4000-8000-00000000f1d1"),
	OrganizationID: uuid.MustParse("00000000-0000-4000-8000-00000000f1d2")}

// synced is a database holding what orosync writes for the records.
type synced struct {
	ctx     context.Context
	db      *pgxpool.Pool
	changes []events.Change
}

// syncFixtures maps Oro's fixtures and a small simulated CRM with the shipped mapping and applies the changes
// twice (a replay), as the writer does, with the mapping's custom field definitions. Records the mapping
// dead-letters (with the reason, never silently) are left out.
func syncFixtures(t *testing.T) *synced {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	m, err := transformer.LoadMapping("")
	if err != nil {
		t.Fatal(err)
	}
	var changes []events.Change
	for _, l := range m.Preview(append(fixtureRecords(t), simulatedRecords(t, 200)...)) {
		if l.DeadLetter != nil {
			t.Logf("%s: dead letter %v", l.Record, l.DeadLetter)
		}
		if l.Change != nil {
			changes = append(changes, *l.Change)
		}
	}
	url := dbtest.NewDatabase(t)
	ap, err := writer.NewApplier(ctx, url, map[string]writer.Scope{"acme": scope}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ap.Close)
	ap.DefineCustomFields(m.CustomFieldDefs())
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	mercatoUsers(ctx, t, db, changes)
	for range 2 {
		if _, err := ap.Apply(ctx, changes); err != nil {
			t.Fatal(err)
		}
	}
	return &synced{ctx: ctx, db: db, changes: changes}
}

// mercatoUsers gives every other Oro user with an email a Mercato user of the scope with that email (as Mercato's
// user create writes it, email_hash aside: the writer finds a user by its email too), so owners, authors and
// participants both match and stay unmatched.
func mercatoUsers(ctx context.Context, t *testing.T, db *pgxpool.Pool, changes []events.Change) {
	t.Helper()
	n := 0
	for _, c := range changes {
		if c.User == nil || c.User.Email == nil || c.Source.Type != "users" {
			continue
		}
		if n++; n%2 == 0 {
			continue
		}
		if _, err := db.Exec(ctx, `INSERT INTO users (tenant_id, organization_id, email, name, created_at) VALUES ($1, $2, $3, $4, now())
ON CONFLICT DO NOTHING`, scope.TenantID, scope.OrganizationID, *c.User.Email, c.User.DisplayName); err != nil {
			t.Fatal(err)
		}
	}
	if n < 2 {
		t.Fatalf("%d Oro users with an email", n)
	}
}

// violations runs a query returning one text per row breaking a rule.
func (s *synced) violations(t *testing.T, q string, args ...any) []string {
	t.Helper()
	rows, err := s.db.Query(s.ctx, q, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (s *synced) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(s.ctx, q, args...).Scan(&n); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return n
}

// rule is one of Mercato's rules for a table's rows: a query naming each row breaking it ($1 tenant, $2
// organization), and a query counting the rows it applies to, which must find some for the rule to mean something.
type rule struct {
	name, query, rows string
}

// check runs the rules as subtests.
func (s *synced) check(t *testing.T, rules []rule) {
	t.Helper()
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			if n := s.count(t, r.rows, scope.TenantID, scope.OrganizationID); n == 0 {
				t.Fatalf("no rows to check (%s)", r.rows)
			}
			if v := s.violations(t, r.query, scope.TenantID, scope.OrganizationID); len(v) > 0 {
				t.Errorf("%d rows break it:\n%s", len(v), strings.Join(v, "\n"))
			}
		})
	}
}
