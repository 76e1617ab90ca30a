package mercatodb_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-jet/jet/v2/postgres"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
	"github.com/orosync/orosync/mercatodb/gen/mercato/public/table"
)

// TestGeneratedModelsMatchSchema fails when gen/ is stale: every generated table must list exactly
// the columns (in order) the migrated database has. Regenerate with ./gen.sh.
func TestGeneratedModelsMatchSchema(t *testing.T) {
	ctx := testContext(t)
	db := openDB(t, dbtest.NewDatabase(t))

	tables := []postgres.Table{
		table.CustomerEntities, table.CustomerPeople, table.CustomerCompanies,
		table.CustomerPersonCompanyLinks, table.CustomerAddresses, table.CustomerDeals,
		table.CustomerDealPeople, table.CustomerDealCompanies, table.CustomerInteractions,
		table.CustomerComments, table.CustomFieldValues, table.SyncExternalIDMappings,
		table.OrosyncRecords, table.OrosyncOutbox,
	}
	allColumns := map[string]postgres.ColumnList{
		"customer_entities":             table.CustomerEntities.AllColumns,
		"customer_people":               table.CustomerPeople.AllColumns,
		"customer_companies":            table.CustomerCompanies.AllColumns,
		"customer_person_company_links": table.CustomerPersonCompanyLinks.AllColumns,
		"customer_addresses":            table.CustomerAddresses.AllColumns,
		"customer_deals":                table.CustomerDeals.AllColumns,
		"customer_deal_people":          table.CustomerDealPeople.AllColumns,
		"customer_deal_companies":       table.CustomerDealCompanies.AllColumns,
		"customer_interactions":         table.CustomerInteractions.AllColumns,
		"customer_comments":             table.CustomerComments.AllColumns,
		"custom_field_values":           table.CustomFieldValues.AllColumns,
		"sync_external_id_mappings":     table.SyncExternalIDMappings.AllColumns,
		"orosync_records":               table.OrosyncRecords.AllColumns,
		"orosync_outbox":                table.OrosyncOutbox.AllColumns,
		"orosync_conflicts":             table.OrosyncConflicts.AllColumns,
		"orosync_pending_links":         table.OrosyncPendingLinks.AllColumns,
	}
	for _, tbl := range tables {
		name := tbl.TableName()
		cols, ok := allColumns[name]
		if !ok {
			t.Errorf("no column list for %s", name)
			continue
		}
		var generated []string
		for _, c := range cols {
			generated = append(generated, c.Name())
		}
		inDB := queryStrings(t, ctx, db, `
			SELECT column_name::text FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`, name)
		if !slices.Equal(generated, inDB) {
			t.Errorf("%s: generated columns %v, database columns %v (run ./gen.sh)", name, generated, inDB)
		}
		stmt := postgres.SELECT(cols).FROM(tbl).LIMIT(1)
		if _, err := stmt.ExecContext(ctx, db); err != nil {
			t.Errorf("%s: select all columns: %v", name, err)
		}
	}
}

func TestOrosyncTablesConstraints(t *testing.T) {
	ctx := testContext(t)
	db := openDB(t, dbtest.NewDatabase(t))

	now := time.Now().UTC().Truncate(time.Microsecond)
	profile := uuid.New()
	rec := model.OrosyncRecords{
		TenantID:           uuid.New(),
		OrganizationID:     uuid.New(),
		SourceType:         "contacts",
		SourceID:           "42",
		InternalEntityType: "customers.person",
		InternalEntityID:   uuid.New(),
		ProfileID:          &profile,
		SourceUpdatedAt:    now,
		PayloadHash:        "sha256:abc",
		MappingVersion:     "v1",
		CreatedAt:          now,
		UpdatedAt:          now,
	}
	insert := func(r model.OrosyncRecords) error {
		_, err := table.OrosyncRecords.INSERT(table.OrosyncRecords.AllColumns).MODEL(r).ExecContext(ctx, db)
		return err
	}
	if err := insert(rec); err != nil {
		t.Fatal(err)
	}

	var got model.OrosyncRecords
	err := postgres.SELECT(table.OrosyncRecords.AllColumns).
		FROM(table.OrosyncRecords).
		WHERE(table.OrosyncRecords.SourceID.EQ(postgres.String("42"))).
		QueryContext(ctx, db, &got)
	if err != nil {
		t.Fatal(err)
	}
	if got.InternalEntityID != rec.InternalEntityID || got.ProfileID == nil || *got.ProfileID != profile ||
		!got.SourceUpdatedAt.Equal(now) || got.DeletedAt != nil {
		t.Errorf("round trip: got %+v, want %+v", got, rec)
	}

	// Same Oro record again (primary key).
	dup := rec
	dup.InternalEntityID = uuid.New()
	assertUniqueViolation(t, insert(dup), "orosync_records_pkey")

	// Another Oro record pointing at the same Mercato entity.
	other := rec
	other.SourceID = "43"
	assertUniqueViolation(t, insert(other), "orosync_records_internal_entity_unique")

	// Outbox: defaults and msg_id uniqueness.
	outbox := table.OrosyncOutbox
	ins := outbox.INSERT(outbox.Subject, outbox.MsgID, outbox.EventType, outbox.Payload).
		VALUES("mercato.customers.person.created", "msg-1", "customers.person.created", `{"id":"x"}`).
		RETURNING(outbox.AllColumns)
	var row model.OrosyncOutbox
	if err := ins.QueryContext(ctx, db, &row); err != nil {
		t.Fatal(err)
	}
	if row.ID == 0 || row.Headers != "{}" || row.CreatedAt.IsZero() {
		t.Errorf("outbox defaults: %+v", row)
	}
	_, err = outbox.INSERT(outbox.Subject, outbox.MsgID, outbox.EventType, outbox.Payload).
		VALUES("s", "msg-1", "e", `{}`).ExecContext(ctx, db)
	assertUniqueViolation(t, err, "orosync_outbox_msg_id_unique")
}

func assertUniqueViolation(t *testing.T, err error, constraint string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" || pgErr.ConstraintName != constraint {
		t.Errorf("got %v, want unique violation of %s", err, constraint)
	}
}
