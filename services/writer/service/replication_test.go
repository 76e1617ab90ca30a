package service_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/services/writer/service"
)

func TestAReplicationSessionWithARoleNotAllowedToSetItFailsAtStartNamingTheGrant(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dbURL := dbtest.NewDatabase(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	role := "orosync_writer_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	if _, err := conn.Exec(ctx, `CREATE ROLE `+role+` LOGIN`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), `DROP ROLE IF EXISTS `+role) })
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)

	err = service.Run(ctx, service.Config{NatsURL: "nats://127.0.0.1:1", DatabaseURL: u.String(), ReplicationRole: true,
		Tenants: map[string]service.Scope{"acme": scope}})
	if err == nil || !strings.Contains(err.Error(), "GRANT SET ON PARAMETER session_replication_role") ||
		!strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("err = %v, want PostgreSQL's permission error and the grant that lifts it", err)
	}
}
