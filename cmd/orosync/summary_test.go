package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/orosim"
	transformer "github.com/orosync/orosync/services/transformer/service"
)

func TestRunSyncsEveryTypeTheShippedMappingMapsByDefault(t *testing.T) {
	m, err := transformer.LoadMapping("")
	if err != nil {
		t.Fatal(err)
	}
	var mapped []string
	for _, l := range m.Report() {
		if l.Aggregate != "" && l.Aggregate != "embedded" && !slices.Contains(mapped, l.Type) {
			mapped = append(mapped, l.Type)
		}
	}
	got := supportedTypes()
	slices.Sort(mapped)
	slices.Sort(got)
	if !slices.Equal(got, mapped) {
		t.Errorf("default types %v, the mapping maps %v", got, mapped)
	}
	var c common
	fs := newCommand("run", "", &bytes.Buffer{}, &bytes.Buffer{})
	t.Setenv("OROSYNC_TYPES", "")
	c.register(fs)
	if err := fs.parse(nil); err != nil {
		t.Fatal(err)
	}
	if l := c.typeList(); len(l) != 0 {
		t.Errorf("OROSYNC_TYPES set empty: types %v", l)
	}
}

func TestTheSummarySaysEveryRecordLandedOnlyWhenEachCountMatches(t *testing.T) {
	all := []landing{
		{Type: "users", InOro: 5, Seen: 5, Versions: 5, Kept: 5},
		{Type: "contacts", InOro: 10, Seen: 10, Versions: 12, Kept: 10, Landed: 10, Expected: 10, Rows: []tableRows{{"customer_entities", 10}}},
		{Type: "contactaddresses", InOro: 4, Seen: -1, Landed: 4, Expected: 4, Rows: []tableRows{{"customer_addresses", 4}}},
	}
	var out bytes.Buffer
	if !printLandings(&out, all) || !strings.Contains(out.String(), "Every record landed") {
		t.Errorf("every count matches, but:\n%s", &out)
	}
	for name, spoil := range map[string]func(ls []landing){
		"a record not in ORO_RAW":        func(ls []landing) { ls[1].Seen = 9 },
		"a record the writer never kept": func(ls []landing) { ls[0].Kept = 4 },
		"a record without its row": func(ls []landing) {
			ls[1].Landed, ls[1].Held = 9, "waiting for the records they refer to"
		},
		"an address without its row": func(ls []landing) { ls[2].Landed = 0 },
	} {
		t.Run(name, func(t *testing.T) {
			ls := slices.Clone(all)
			spoil(ls)
			var out bytes.Buffer
			if printLandings(&out, ls) || strings.Contains(out.String(), "Every record landed") ||
				!strings.Contains(out.String(), "Not every record landed") {
				t.Errorf("the summary of %s:\n%s", name, &out)
			}
		})
	}
}

// TestDemoSummaryCountsWhatLandedWhere runs `orosync demo` as a user does, on a small CRM,
// and checks its table against the simulator's counts and Mercato's tables.
func TestDemoSummaryCountsWhatLandedWhere(t *testing.T) {
	const contacts = 100 // two of the rarest types (b2b customers, cases)
	cfg, err := pgx.ParseConfig(dbtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "orosync_demo_test_" + hex.EncodeToString(b)
	dbURL := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
	t.Cleanup(func() {
		if conn, err := pgx.ConnectConfig(context.Background(), cfg); err == nil {
			_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = conn.Close(context.Background())
		}
	})
	r := runOrosync(t, nil, "demo", "--contacts", strconv.Itoa(contacts), "--hold=false", "--database-url", dbURL,
		"--data-dir", t.TempDir(), "--nats-port", "-1", "--log-level", "error")
	if r.code != 0 {
		t.Fatalf("orosync demo exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := map[string][]string{} // type → IN ORO, IN ORO_RAW, VERSIONS, DEAD LETTERS, LANDED, EXPECTED, tables
	row := regexp.MustCompile(`^\s*([a-z0-9]+)\s+(\d+)\s+(\d+|\(embedded\))\s+(\d+|-)\s+(\d+|-)\s+(\d+) of (\d+)\s+(.*)$`)
	for _, l := range strings.Split(r.stdout, "\n") {
		if m := row.FindStringSubmatch(l); m != nil {
			lines[m[1]] = m[2:]
		}
	}
	counts := orosim.CRMCounts(contacts)
	matching := true
	for _, typ := range append(supportedTypes(), "contactaddresses", "leadaddresses", "addresses") {
		l, ok := lines[typ]
		if !ok {
			t.Errorf("the summary has no line for %s:\n%s", typ, r.stdout)
			continue
		}
		if l[0] != strconv.Itoa(counts[typ]) {
			t.Errorf("%s: %s in Oro, the simulator holds %d", typ, l[0], counts[typ])
		}
		if addressTypes(typ) == "" && !strings.HasSuffix(typ, "addresses") && l[1] != l[0] {
			t.Errorf("%s: %s of %s records in ORO_RAW", typ, l[1], l[0])
		}
		matching = matching && l[4] == l[5]
	}
	if got := strings.Contains(r.stdout, "Every record landed"); got != matching {
		t.Errorf("the summary says every record landed: %v, its lines match: %v\n%s", got, matching, r.stdout)
	}
	db, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	for types, q := range map[string]string{"contacts leads": "SELECT count(*) FROM customer_people",
		"accounts": "SELECT count(*) FROM customer_companies", "opportunities": "SELECT count(*) FROM customer_deals",
		"cases tasks calls emails":                 "SELECT count(*) FROM customer_interactions",
		"contactaddresses leadaddresses addresses": "SELECT count(*) FROM customer_addresses"} {
		var n, landed int
		if err := db.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		for _, typ := range strings.Fields(types) {
			if l := lines[typ]; l != nil {
				k, _ := strconv.Atoi(l[4])
				landed += k
			}
		}
		if landed != n {
			t.Errorf("%s: %d landed, Mercato's table holds %d (%s)", types, landed, n, q)
		}
	}
	if l := lines["users"]; l != nil && (l[5] != "0" || !strings.Contains(l[6], "no table")) {
		t.Errorf("users: expected %s Mercato rows, %q; Mercato has no table for them", l[5], l[6])
	}
}
