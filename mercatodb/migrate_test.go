package mercatodb_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orosync/orosync/mercatodb"
	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/mercatodb/internal/pgadmin"
)

// referenceTables returns the 37 tables the reference DDL (testdata/mercato-ddl) creates.
func referenceTables() []string {
	return []string{
		// customers.sql
		"customer_activities", "customer_addresses", "customer_comments", "customer_companies",
		"customer_company_billing", "customer_deal_companies", "customer_deal_people",
		"customer_deal_stage_transitions", "customer_deals", "customer_dictionary_entries",
		"customer_dictionary_kind_settings", "customer_entities", "customer_entity_roles",
		"customer_interactions", "customer_label_assignments", "customer_labels", "customer_people",
		"customer_person_company_links", "customer_person_company_roles", "customer_pipeline_stages",
		"customer_pipelines", "customer_settings", "customer_tag_assignments", "customer_tags",
		"customer_todo_links",
		// integrations.sql
		"integration_credentials", "integration_logs", "integration_states", "sync_external_id_mappings",
		// datasync.sql
		"sync_cursors", "sync_mappings", "sync_runs", "sync_schedules",
		// entities.sql
		"custom_field_defs", "custom_field_values", "encryption_maps",
		// auth.sql
		"users",
	}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func openDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := mercatodb.OpenDB(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func queryStrings(t *testing.T, ctx context.Context, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		t.Fatalf("query %q: %v", q, err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("scan %q: %v", q, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows %q: %v", q, err)
	}
	return out
}

func publicTables(t *testing.T, ctx context.Context, db *sql.DB) []string {
	t.Helper()
	return queryStrings(t, ctx, db, `
		SELECT table_name::text FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
		ORDER BY table_name`)
}

func TestMercatoMigrationsCreateAllReferenceTables(t *testing.T) {
	ctx := testContext(t)
	db := openDB(t, dbtest.NewEmptyDatabase(t))

	if err := mercatodb.MigrateMercato(ctx, db); err != nil {
		t.Fatal(err)
	}

	var mercato, ours []string
	for _, name := range publicTables(t, ctx, db) {
		if strings.HasPrefix(name, "orosync_") || strings.HasPrefix(name, "goose_") {
			ours = append(ours, name)
			continue
		}
		mercato = append(mercato, name)
	}
	if len(mercato) != 37 {
		t.Errorf("got %d Mercato tables, want 37: %v", len(mercato), mercato)
	}
	want := slices.Sorted(slices.Values(referenceTables()))
	if !slices.Equal(mercato, want) {
		t.Errorf("Mercato tables differ from the reference:\n got  %v\n want %v", mercato, want)
	}
	if !slices.Equal(ours, []string{mercatodb.MercatoVersionTable}) {
		t.Errorf("bookkeeping tables = %v, want only %s", ours, mercatodb.MercatoVersionTable)
	}

	// Spot-check that the DDL is the reference's, not an approximation.
	var n int
	err := db.QueryRowContext(ctx, `
		SELECT count(*) FROM pg_indexes
		WHERE schemaname = 'public' AND NOT starts_with(tablename, 'orosync_')`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n < 37+80 { // one pkey per table plus the reference's secondary indexes/unique constraints
		t.Errorf("only %d indexes on Mercato tables; reference DDL not fully applied?", n)
	}
	var def string
	err = db.QueryRowContext(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'customer_people_company_entity_id_foreign'`).Scan(&def)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "ON UPDATE CASCADE ON DELETE SET NULL") {
		t.Errorf("customer_people_company_entity_id_foreign = %q", def)
	}
}

// TestMercatoMigrationsMatchReferenceFiles guards against drift between the goose files and the
// repository's copy of Mercato's reference DDL (testdata/mercato-ddl).
func TestMercatoMigrationsMatchReferenceFiles(t *testing.T) {
	refDir := filepath.Join("..", "testdata", "mercato-ddl")
	if _, err := os.Stat(refDir); err != nil {
		t.Fatalf("reference DDL not readable at %s: %v", refDir, err)
	}
	for i, name := range []string{"customers", "integrations", "datasync", "entities", "auth"} {
		ref, err := os.ReadFile(filepath.Join(refDir, name+".sql"))
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join("migrations", "mercato", fmt.Sprintf("%05d_%s.sql", i+1, name))
		mig, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		up, _, ok := strings.Cut(string(mig), "-- +goose Down")
		if !ok {
			t.Fatalf("%s: no -- +goose Down section", file)
		}
		if !strings.Contains(up, string(ref)) {
			t.Errorf("%s: Up section does not contain %s.sql verbatim", file, name)
		}
	}
}

// schemaSnapshot describes everything in the database that does not belong to orosync: relations
// (tables, indexes, sequences, views), columns, constraints, triggers and table comments.
func schemaSnapshot(t *testing.T, ctx context.Context, db *sql.DB) []string {
	t.Helper()
	const notOurs = `NOT starts_with(%s, 'orosync_')`
	queries := []string{
		`SELECT format('relation %s.%s kind=%s', n.nspname, c.relname, c.relkind)
		 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
		   AND ` + fmt.Sprintf(notOurs, "c.relname") + `
		 ORDER BY 1`,
		`SELECT format('column %s.%s.%s #%s %s nullable=%s default=%s', table_schema, table_name, column_name,
		               ordinal_position, data_type, is_nullable, coalesce(column_default, '-'))
		 FROM information_schema.columns
		 WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND ` + fmt.Sprintf(notOurs, "table_name") + `
		 ORDER BY 1`,
		`SELECT format('constraint %s on %s: %s', con.conname, con.conrelid::regclass, pg_get_constraintdef(con.oid))
		 FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
		 JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND ` + fmt.Sprintf(notOurs, "c.relname") + `
		 ORDER BY 1`,
		`SELECT format('index %s: %s', indexname, indexdef) FROM pg_indexes
		 WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND ` + fmt.Sprintf(notOurs, "tablename") + `
		 ORDER BY 1`,
		// Internal triggers included: a foreign key pointing at a Mercato table would add RI triggers here.
		`SELECT format('trigger %s on %s', tg.tgname, tg.tgrelid::regclass)
		 FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
		 JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND ` + fmt.Sprintf(notOurs, "c.relname") + `
		 ORDER BY 1`,
		`SELECT format('comment %s: %s', c.relname, d.description)
		 FROM pg_description d JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
		 JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND ` + fmt.Sprintf(notOurs, "c.relname") + `
		 ORDER BY 1`,
		`SELECT format('schema %s', nspname) FROM pg_namespace ORDER BY 1`,
		`SELECT format('extension %s %s', extname, extversion) FROM pg_extension ORDER BY 1`,
	}
	var out []string
	for _, q := range queries {
		out = append(out, queryStrings(t, ctx, db, q)...)
	}
	return out
}

func TestOrosyncMigrationTouchesOnlyOrosyncTables(t *testing.T) {
	ctx := testContext(t)
	db := openDB(t, dbtest.NewEmptyDatabase(t))
	if err := mercatodb.MigrateMercato(ctx, db); err != nil {
		t.Fatal(err)
	}

	before := schemaSnapshot(t, ctx, db)
	tablesBefore := publicTables(t, ctx, db)
	if err := mercatodb.MigrateOrosync(ctx, db); err != nil {
		t.Fatal(err)
	}
	after := schemaSnapshot(t, ctx, db)
	tablesAfter := publicTables(t, ctx, db)

	if len(before) < 36*5 {
		t.Fatalf("snapshot suspiciously small (%d lines)", len(before))
	}
	if !slices.Equal(before, after) {
		for _, l := range before {
			if !slices.Contains(after, l) {
				t.Errorf("removed/changed by MigrateOrosync: %s", l)
			}
		}
		for _, l := range after {
			if !slices.Contains(before, l) {
				t.Errorf("added by MigrateOrosync: %s", l)
			}
		}
	}

	var added []string
	for _, name := range tablesAfter {
		if !slices.Contains(tablesBefore, name) {
			added = append(added, name)
		}
	}
	want := orosyncTables(t)
	if !slices.Equal(added, want) {
		t.Errorf("MigrateOrosync added tables %v, want %v", added, want)
	}
}

func TestOrosyncMigrationRunsWithoutMercatoTables(t *testing.T) {
	// orosync's set must not depend on Mercato's tables (no FKs into them).
	ctx := testContext(t)
	db := openDB(t, dbtest.NewEmptyDatabase(t))
	if err := mercatodb.MigrateOrosync(ctx, db); err != nil {
		t.Fatal(err)
	}
	want := orosyncTables(t)
	if got := publicTables(t, ctx, db); !slices.Equal(got, want) {
		t.Errorf("tables = %v, want %v", got, want)
	}
}

// orosyncTables are the tables orosync's migrations create (every CREATE TABLE in migrations/orosync), plus goose's
// version table, sorted; each must be named orosync_*.
func orosyncTables(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("migrations/orosync/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("orosync migrations: %v", err)
	}
	want := []string{mercatodb.OrosyncVersionTable}
	re := regexp.MustCompile(`(?m)^CREATE TABLE (\w+)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasPrefix(m[1], "orosync_") {
				t.Errorf("%s creates %s: orosync's tables are named orosync_*", f, m[1])
			}
			want = append(want, m[1])
		}
	}
	slices.Sort(want)
	return want
}

func versionRows(t *testing.T, ctx context.Context, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrationsAreIdempotent(t *testing.T) {
	ctx := testContext(t)
	db := openDB(t, dbtest.NewEmptyDatabase(t))

	for i := range 3 {
		if err := mercatodb.MigrateMercato(ctx, db); err != nil {
			t.Fatalf("MigrateMercato run %d: %v", i+1, err)
		}
		if err := mercatodb.MigrateOrosync(ctx, db); err != nil {
			t.Fatalf("MigrateOrosync run %d: %v", i+1, err)
		}
	}
	// One row per version plus goose's version-0 row; re-runs add nothing.
	if n := versionRows(t, ctx, db, mercatodb.MercatoVersionTable); n != 6 {
		t.Errorf("%s has %d rows, want 6", mercatodb.MercatoVersionTable, n)
	}
	files, latest, tables := orosyncMigrations(t)
	if n := versionRows(t, ctx, db, mercatodb.OrosyncVersionTable); n != files+1 {
		t.Errorf("%s has %d rows, want %d", mercatodb.OrosyncVersionTable, n, files+1)
	}
	v, err := mercatodb.OrosyncStatus(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if v != latest {
		t.Errorf("OrosyncStatus = %d, want %d", v, latest)
	}
	if got := len(publicTables(t, ctx, db)); got != 37+2+tables {
		t.Errorf("%d tables, want %d", got, 37+2+tables)
	}
}

func TestMigrateOrosyncConcurrently(t *testing.T) {
	// Several services starting at once against the same database.
	ctx := testContext(t)
	url := dbtest.NewEmptyDatabase(t)
	const workers = 4
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Go(func() {
			db, err := mercatodb.OpenDB(url)
			if err != nil {
				errs[i] = err
				return
			}
			defer func() { _ = db.Close() }()
			errs[i] = mercatodb.MigrateOrosync(ctx, db)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
	db := openDB(t, url)
	files, _, _ := orosyncMigrations(t)
	if n := versionRows(t, ctx, db, mercatodb.OrosyncVersionTable); n != files+1 {
		t.Errorf("%s has %d rows, want %d", mercatodb.OrosyncVersionTable, n, files+1)
	}
}

func TestOrosyncStatus(t *testing.T) {
	ctx := testContext(t)
	db := openDB(t, dbtest.NewEmptyDatabase(t))

	v, err := mercatodb.OrosyncStatus(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if v != 0 {
		t.Errorf("OrosyncStatus on empty db = %d, want 0", v)
	}
	if got := publicTables(t, ctx, db); len(got) != 0 {
		t.Errorf("OrosyncStatus created tables: %v", got)
	}

	if err := mercatodb.MigrateMercato(ctx, db); err != nil {
		t.Fatal(err)
	}
	if v, err := mercatodb.OrosyncStatus(ctx, db); err != nil || v != 0 {
		t.Errorf("OrosyncStatus after Mercato set only = %d, %v; want 0, nil", v, err)
	}
	if err := mercatodb.MigrateOrosync(ctx, db); err != nil {
		t.Fatal(err)
	}
	_, latest, _ := orosyncMigrations(t)
	if v, err := mercatodb.OrosyncStatus(ctx, db); err != nil || v != latest {
		t.Errorf("OrosyncStatus after MigrateOrosync = %d, %v; want %d, nil", v, err, latest)
	}
}

func TestEnsureDatabaseCreatesMissingDatabase(t *testing.T) {
	ctx := testContext(t)
	server := dbtest.ServerURL()
	// Mixed case, a hyphen and a space: only works if the identifier is quoted.
	name := fmt.Sprintf("orosync_test_Ensure-DB %d", time.Now().UnixNano())
	url, err := pgadmin.WithDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := pgadmin.DropDatabase(ctx, server, name); err != nil {
			t.Error(err)
		}
	})

	admin := openDB(t, server)
	exists := func() bool {
		t.Helper()
		var ok bool
		if err := admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if exists() {
		t.Fatalf("database %q exists before the test", name)
	}

	if err := mercatodb.EnsureDatabase(ctx, url); err != nil {
		t.Fatal(err)
	}
	if !exists() {
		t.Fatalf("database %q not created", name)
	}
	// Existing database: no error, nothing to do.
	if err := mercatodb.EnsureDatabase(ctx, url); err != nil {
		t.Fatalf("second EnsureDatabase: %v", err)
	}

	db := openDB(t, url)
	var current string
	if err := db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&current); err != nil {
		t.Fatal(err)
	}
	if current != name {
		t.Errorf("connected to %q, want %q", current, name)
	}
}

func TestEnsureDatabaseConcurrentCallers(t *testing.T) {
	ctx := testContext(t)
	server := dbtest.ServerURL()
	name := fmt.Sprintf("orosync_test_race_%d", time.Now().UnixNano())
	url, err := pgadmin.WithDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := pgadmin.DropDatabase(ctx, server, name); err != nil {
			t.Error(err)
		}
	})
	const callers = 4
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { errs[i] = mercatodb.EnsureDatabase(ctx, url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
}

func TestEnsureDatabaseErrors(t *testing.T) {
	ctx := testContext(t)
	if err := mercatodb.EnsureDatabase(ctx, "postgres://%zz"); err == nil {
		t.Error("EnsureDatabase accepted an unparsable url")
	}
	if _, err := mercatodb.OpenDB("postgres://%zz"); err == nil {
		t.Error("OpenDB accepted an unparsable url")
	}
}

// orosyncMigrations reads migrations/orosync: how many migrations there are, the latest version, and how many
// tables they create (so adding a migration does not mean editing these tests).
func orosyncMigrations(t *testing.T) (files int, latest int64, tables int) {
	t.Helper()
	entries, err := os.ReadDir("migrations/orosync")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		files++
		v, err := strconv.ParseInt(strings.SplitN(e.Name(), "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("migration %s: %v", e.Name(), err)
		}
		latest = max(latest, v)
		body, err := os.ReadFile(filepath.Join("migrations/orosync", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		tables += strings.Count(string(body), "CREATE TABLE ")
	}
	return files, latest, tables
}
