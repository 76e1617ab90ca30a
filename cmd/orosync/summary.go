package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/google/uuid"

	"github.com/orosync/orosync/mercatodb"
	transformer "github.com/orosync/orosync/services/transformer/service"
)

// landing is what one Oro type became: the demo's summary line, from the simulator (Oro), ORO_RAW, orosync's
// bookkeeping and Mercato's tables.
type landing struct {
	Type        string
	InOro       int
	Seen        int    // records in ORO_RAW; -1 for a type embedded in another
	Versions    uint64 // their versions
	DeadLetters uint64
	Kept        int // live records in orosync_records
	// Landed counts records whose Mercato row exists, Expected those that should have one: every record of the
	// type, none for a type Mercato has no table for.
	Landed, Expected int
	Rows             []tableRows // Mercato rows written, by table
	Held             string      // why records are kept without their Mercato row
}

type tableRows struct {
	Table string
	N     int
}

// mercatoTables says which Mercato rows a record kept as the aggregate becomes, and how to count those orosync
// wrote (r: its live bookkeeping rows of one Oro type; r.profile_id is the Mercato row of a record aggregate, or the
// company a b2b customer merged into). The first table decides whether a record landed.
func mercatoTables(aggregate, typ string) []struct{ table, join string } {
	type t = struct{ table, join string }
	entity := t{"customer_entities", "customer_entities x ON x.id = r.internal_entity_id AND x.deleted_at IS NULL"}
	addresses := t{"customer_addresses", "customer_addresses x ON x.entity_id = r.internal_entity_id"}
	switch aggregate {
	case "customers.person":
		return []t{entity, {"customer_people", "customer_people x ON x.id = r.profile_id"},
			{"customer_person_company_links", "customer_person_company_links x ON x.person_entity_id = r.internal_entity_id AND x.deleted_at IS NULL"},
			addresses}
	case "customers.company":
		if typ == "accounts" { // Oro's accounts have no addresses; those of b2b customers merged into one count there
			return []t{entity, {"customer_companies", "customer_companies x ON x.id = r.profile_id"}}
		}
		return []t{entity, {"customer_companies", "customer_companies x ON x.id = r.profile_id"}, addresses}
	case "orosync.company_merge":
		return []t{{"customer_entities", "customer_entities x ON x.id = r.profile_id AND x.deleted_at IS NULL"},
			{"customer_addresses", "customer_addresses x ON x.entity_id = r.profile_id"}}
	case "customers.deal":
		return []t{{"customer_deals", "customer_deals x ON x.id = r.profile_id AND x.deleted_at IS NULL"},
			{"customer_deal_companies", "customer_deal_companies x ON x.deal_id = r.profile_id"},
			{"customer_deal_people", "customer_deal_people x ON x.deal_id = r.profile_id"}}
	case "customers.interaction":
		return []t{{"customer_interactions", "customer_interactions x ON x.id = r.profile_id AND x.deleted_at IS NULL"}}
	case "customers.comment":
		return []t{{"customer_comments", "customer_comments x ON x.id = r.profile_id AND x.deleted_at IS NULL"}}
	}
	return nil // orosync.user: no Mercato table
}

// addressTypes is the Oro type of the addresses that come with an owner type, each a customer_addresses row.
func addressTypes(owner string) string {
	return map[string]string{"contacts": "contactaddresses", "leads": "leadaddresses", "b2bcustomers": "addresses"}[owner]
}

// heldWhy explains records of an aggregate kept without their Mercato row.
func heldWhy(aggregate string) string {
	switch aggregate {
	case "customers.interaction":
		return "an interaction belongs to a person, company or deal and none of its targets is one (e.g. only cases)"
	case "customers.comment":
		return "a note's comments belong to a person, company or deal and none of its targets is one (e.g. only cases)"
	}
	return "waiting for the records they refer to"
}

// landings counts what every type became: inOro counts the records Oro holds of a type, aggregates names the
// Mercato aggregate the mapping maps it to.
func landings(ctx context.Context, rows []typeStatus, databaseURL string, tid, oid uuid.UUID, inOro func(string) int,
	aggregates map[string]string) ([]landing, error) {
	db, err := mercatodb.OpenDB(databaseURL)
	if err != nil {
		return nil, err
	}
	defer func() { _ = db.Close() }()
	var out []landing
	for _, st := range rows {
		l := landing{Type: st.Type, InOro: inOro(st.Type), Seen: st.Seen, Versions: st.Versions, DeadLetters: st.DeadLetters,
			Kept: st.Applied, Expected: inOro(st.Type)}
		if mercatoTables(aggregates[st.Type], st.Type) == nil {
			l.Expected = 0
		}
		if err := l.count(ctx, db, tid, oid); err != nil {
			return nil, err
		}
		out = append(out, l)
		if embedded := addressTypes(st.Type); embedded != "" { // addresses come with their owners
			n := inOro(embedded)
			a := landing{Type: embedded, InOro: n, Seen: -1, Expected: n}
			for _, r := range l.Rows {
				if r.Table == "customer_addresses" {
					a.Landed, a.Rows = r.N, []tableRows{r}
				}
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// count fills Rows and Landed from the bookkeeping of the type's records, by the aggregate each was kept as.
func (l *landing) count(ctx context.Context, db *sql.DB, tid, oid uuid.UUID) error {
	const scope = " WHERE r.tenant_id = $1 AND r.organization_id = $2 AND r.source_type = $3 AND r.deleted_at IS NULL"
	res, err := db.QueryContext(ctx, "SELECT r.internal_entity_type FROM orosync_records r"+scope+" GROUP BY 1 ORDER BY 1", tid, oid, l.Type)
	if err != nil {
		return fmt.Errorf("aggregates of %s: %w", l.Type, err)
	}
	var aggs []string
	for res.Next() {
		var a string
		if err := res.Scan(&a); err != nil {
			return err
		}
		aggs = append(aggs, a)
	}
	if err := res.Err(); err != nil {
		return err
	}
	for _, agg := range aggs {
		for i, t := range mercatoTables(agg, l.Type) {
			var n int
			what := "count(*)"
			if t.table == "customer_addresses" { // b2b customers merged into one company share its addresses
				what = "count(DISTINCT x.id)"
			}
			q := "SELECT " + what + " FROM orosync_records r JOIN " + t.join + scope + " AND r.internal_entity_type = $4"
			if err := db.QueryRowContext(ctx, q, tid, oid, l.Type, agg).Scan(&n); err != nil {
				return fmt.Errorf("counting %s of %s: %w", t.table, l.Type, err)
			}
			l.add(t.table, n)
			if i == 0 {
				l.Landed += n
			}
		}
		if mercatoTables(agg, l.Type) != nil && l.Held == "" {
			l.Held = heldWhy(agg)
		}
		if agg == "customers.comment" { // a note has a comment per target; only orosync writes them in the demo's tenant
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM customer_comments
WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL`, tid, oid).Scan(&n); err != nil {
				return fmt.Errorf("counting customer_comments: %w", err)
			}
			l.Rows[0] = tableRows{fmt.Sprintf("customer_comments (one per target; %d notes have theirs)", l.Landed), n}
		}
	}
	return nil
}

func (l *landing) add(table string, n int) {
	for i := range l.Rows {
		if l.Rows[i].Table == table {
			l.Rows[i].N += n
			return
		}
	}
	l.Rows = append(l.Rows, tableRows{table, n})
}

// printLandings prints the summary table and says whether every record landed; it returns whether it did.
func printLandings(w io.Writer, ls []landing) bool {
	width := len("ORO TYPE")
	for _, l := range ls {
		width = max(width, len(l.Type))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight) // numbers right-aligned, type names padded
	fmt.Fprintf(tw, "%-*s\tIN ORO\tIN ORO_RAW\tVERSIONS\tDEAD LETTERS\tLANDED\t\tMERCATO ROWS WRITTEN\n", width, "ORO TYPE")
	var problems []string
	for _, l := range ls {
		seen, versions, dead := fmt.Sprint(l.Seen), fmt.Sprint(l.Versions), fmt.Sprint(l.DeadLetters)
		if l.Seen < 0 {
			seen, versions, dead = "(embedded)", "-", "-"
		}
		fmt.Fprintf(tw, "%-*s\t%d\t%s\t%s\t%s\t%d of %d\t\t%s\n", width, l.Type, l.InOro, seen, versions, dead, l.Landed, l.Expected, rowsText(l))
		problems = append(problems, l.problems()...)
	}
	_ = tw.Flush()
	if len(problems) == 0 {
		fmt.Fprintln(w, "\nEvery record landed: each type's records are in ORO_RAW and have their Mercato rows.")
		return true
	}
	fmt.Fprintf(w, "\nNot every record landed:\n  %s\n", strings.Join(problems, "\n  "))
	return false
}

func rowsText(l landing) string {
	if len(l.Rows) == 0 && l.Expected == 0 {
		return fmt.Sprintf("none: Mercato has no table for Oro %s (%d directory entries in orosync_records)", l.Type, l.Kept)
	}
	parts := make([]string, len(l.Rows))
	for i, r := range l.Rows {
		parts[i] = fmt.Sprintf("%s %d", r.Table, r.N)
	}
	return strings.Join(parts, ", ")
}

// problems are the counts that do not match, each with what explains it.
func (l landing) problems() []string {
	var out []string
	if l.Seen >= 0 && l.Seen != l.InOro {
		out = append(out, fmt.Sprintf("%s: %d of %d records in ORO_RAW", l.Type, l.Seen, l.InOro))
	}
	if l.Seen >= 0 && l.Kept != l.InOro {
		out = append(out, fmt.Sprintf("%s: %d of %d records applied by the writer (dead letters: %d; `orosync status`, `nats stream subjects OROSYNC_DLQ`)",
			l.Type, l.Kept, l.InOro, l.DeadLetters))
	}
	if l.Landed != l.Expected {
		why := ""
		switch {
		case l.Held != "" && l.Seen < 0: // embedded: their owners are what the writer keeps
			why = ": " + l.Held
		case l.Held != "":
			why = fmt.Sprintf(": %d kept without a Mercato row, as %s", l.Kept-l.Landed, l.Held)
		}
		out = append(out, fmt.Sprintf("%s: %d of %d records have their Mercato row%s", l.Type, l.Landed, l.Expected, why))
	}
	return out
}

// mappingAggregates maps each Oro type to its Mercato aggregate under the mapping the transformer runs.
func mappingAggregates() (map[string]string, error) {
	m, err := transformer.LoadMapping(os.Getenv("OROSYNC_MAPPING"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, l := range m.Report() {
		out[l.Type] = l.Aggregate
	}
	return out, nil
}
