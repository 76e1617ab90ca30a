package adapters_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/mercatodb/dbtest"
	"github.com/orosync/orosync/services/writer/adapters"
)

// BenchmarkReferenceUnnestWriter is issue 6's yardstick, run next to BenchmarkWriterSQL so the two compare on the
// same (shared, loaded) machine: a plain set-based writer of the six rows per contact (person entity, profile,
// company link, external-id mapping, version row, outbox row) into the same tables with their indexes, one
// unnest statement per table, no loads, no decisions, no conflict rules. Updating rewrites the first five rows of
// every contact and adds an outbox row.
func BenchmarkReferenceUnnestWriter(b *testing.B) {
	ctx := context.Background()
	for _, update := range []bool{false, true} {
		name := "insert"
		if update {
			name = "update-every-row"
		}
		b.Run(name, func(b *testing.B) {
			pool := referencePool(b)
			companies := referenceCompanies(ctx, b, pool)
			batches := make([]refBatch, b.N)
			for i := range batches {
				batches[i] = newRefBatch(i*benchBatch, benchBatch, companies)
			}
			if update {
				for i := range batches {
					batches[i].exec(ctx, b, pool, false, "")
				}
			}
			b.ResetTimer()
			start := startMeasuring()
			for i := range batches {
				batches[i].exec(ctx, b, pool, update, "-v2")
			}
			report(b, start)
		})
	}
}

func referencePool(b *testing.B) *pgxpool.Pool {
	b.Helper()
	// The writer's pool configuration, so the two compare statement for statement.
	cfg, err := adapters.PoolConfig(dbtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	cfg.ConnConfig.Tracer = &benchStatements
	cfg.AfterConnect = benchBackends.afterConnect
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

func referenceCompanies(ctx context.Context, b *testing.B, pool *pgxpool.Pool) []uuid.UUID {
	out := make([]uuid.UUID, benchAccounts)
	for i := range out {
		out[i] = uuid.New()
		if _, err := pool.Exec(ctx, `INSERT INTO customer_entities (id, organization_id, tenant_id, kind, display_name, is_active,
			created_at, updated_at) VALUES ($1, $2, $3, 'company', $4, true, now(), now())`, out[i], scope.OrganizationID, scope.TenantID,
			"Account "+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
	return out
}

type refBatch struct {
	entity, profile, link, mapping, company []uuid.UUID
	sourceID, first, last, email            []string
}

func newRefBatch(from, n int, companies []uuid.UUID) refBatch {
	var r refBatch
	for i := range n {
		id := strconv.Itoa(from + i)
		r.entity, r.profile, r.link, r.mapping = append(r.entity, uuid.New()), append(r.profile, uuid.New()), append(r.link, uuid.New()),
			append(r.mapping, uuid.New())
		r.company = append(r.company, companies[(from+i)%len(companies)])
		r.sourceID, r.first, r.last, r.email = append(r.sourceID, id), append(r.first, "First"+id), append(r.last, "Last"),
			append(r.email, id+"@example.com")
	}
	return r
}

var refOutboxSeq atomic.Int64

func (r refBatch) exec(ctx context.Context, b *testing.B, pool *pgxpool.Pool, update bool, suffix string) {
	n := len(r.entity)
	now := time.Now().UTC()
	display, last, msgIDs, subjects, payloads := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i := range n {
		if update {
			last[i] = r.last[i] + suffix
		} else {
			last[i] = r.last[i]
		}
		display[i] = r.first[i] + " " + last[i]
		msgIDs[i] = "ref-" + strconv.FormatInt(refOutboxSeq.Add(1), 10)
		subjects[i] = "mercato.events.acme.customers.person.updated." + r.entity[i].String()
		payloads[i] = `{"id":"` + r.profile[i].String() + `","entityId":"` + r.entity[i].String() + `","syncOrigin":"sync_orocrm"}`
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	ten, org := scope.TenantID, scope.OrganizationID
	stmts := []struct {
		sql  string
		args []any
	}{}
	if !update {
		stmts = append(stmts,
			struct {
				sql  string
				args []any
			}{`INSERT INTO customer_entities (id, organization_id, tenant_id, kind, display_name, primary_email, is_active, created_at, updated_at)
SELECT id, $2, $3, 'person', d, e, true, $5, $5 FROM unnest($1::uuid[], $4::text[], $6::text[]) AS v(id, d, e)`,
				[]any{rawIDs(r.entity), org, ten, display, now, r.email}},
			struct {
				sql  string
				args []any
			}{`INSERT INTO customer_people (id, organization_id, tenant_id, first_name, last_name, created_at, updated_at, entity_id, company_entity_id)
SELECT id, $3, $4, f, l, $7, $7, e, c FROM unnest($1::uuid[], $2::uuid[], $5::text[], $6::text[], $8::uuid[]) AS v(id, e, f, l, c)`,
				[]any{rawIDs(r.profile), rawIDs(r.entity), org, ten, r.first, last, now, rawIDs(r.company)}},
			struct {
				sql  string
				args []any
			}{`INSERT INTO customer_person_company_links (id, organization_id, tenant_id, is_primary, created_at, updated_at, person_entity_id, company_entity_id)
SELECT id, $4, $5, true, $6, $6, p, c FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS v(id, p, c)`,
				[]any{rawIDs(r.link), rawIDs(r.entity), rawIDs(r.company), org, ten, now}},
			struct {
				sql  string
				args []any
			}{`INSERT INTO sync_external_id_mappings (id, integration_id, internal_entity_type, internal_entity_id, external_id, sync_status,
       last_synced_at, organization_id, tenant_id, created_at, updated_at)
SELECT id, 'sync_orocrm', 'customers.person', e, x, 'synced', $5, $3, $4, $5, $5 FROM unnest($1::uuid[], $2::uuid[], $6::text[]) AS v(id, e, x)`,
				[]any{rawIDs(r.mapping), rawIDs(r.entity), org, ten, now, r.sourceID}},
			struct {
				sql  string
				args []any
			}{`INSERT INTO orosync_records (tenant_id, organization_id, source_type, source_id, internal_entity_type, internal_entity_id, profile_id,
       source_updated_at, payload_hash, mapping_version, created_at, updated_at)
SELECT $3, $4, 'contact', x, 'customers.person', e, p, $5, 'h1', 'v1', $5, $5 FROM unnest($1::uuid[], $2::uuid[], $6::text[]) AS v(e, p, x)`,
				[]any{rawIDs(r.entity), rawIDs(r.profile), ten, org, now, r.sourceID}},
		)
	} else {
		stmts = append(stmts,
			struct {
				sql  string
				args []any
			}{`UPDATE customer_entities e SET display_name = v.d, updated_at = $3 FROM unnest($1::uuid[], $2::text[]) AS v(id, d) WHERE e.id = v.id`,
				[]any{rawIDs(r.entity), display, now}},
			struct {
				sql  string
				args []any
			}{`UPDATE customer_people p SET last_name = v.l, updated_at = $3 FROM unnest($1::uuid[], $2::text[]) AS v(id, l) WHERE p.id = v.id`,
				[]any{rawIDs(r.profile), last, now}},
			struct {
				sql  string
				args []any
			}{`UPDATE customer_person_company_links l SET updated_at = $2 FROM unnest($1::uuid[]) AS v(id) WHERE l.id = v.id`,
				[]any{rawIDs(r.link), now}},
			struct {
				sql  string
				args []any
			}{`UPDATE sync_external_id_mappings m SET last_synced_at = $2, updated_at = $2 FROM unnest($1::uuid[]) AS v(id) WHERE m.id = v.id`,
				[]any{rawIDs(r.mapping), now}},
			struct {
				sql  string
				args []any
			}{`UPDATE orosync_records r SET source_updated_at = $4, payload_hash = 'h2', mapping_version = 'v2', updated_at = $4
FROM unnest($3::text[]) AS v(x) WHERE r.tenant_id = $1 AND r.organization_id = $2 AND r.source_type = 'contact' AND r.source_id = v.x`,
				[]any{ten, org, r.sourceID, now}},
		)
	}
	stmts = append(stmts, struct {
		sql  string
		args []any
	}{`INSERT INTO orosync_outbox (subject, msg_id, event_type, payload)
SELECT s, m, 'customers.person.updated', p FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS v(s, m, p)`,
		[]any{subjects, msgIDs, payloads}})
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s.sql, s.args...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
}

// backendCPU measures the CPU time (user + system) PostgreSQL's backends of the benchmark pools spend, from
// /proc: on a shared, loaded machine wall-clock rates swing several-fold between runs, CPU per batch much less.
type backendCPU struct {
	mu   sync.Mutex
	pids []int
}

func (c *backendCPU) afterConnect(ctx context.Context, conn *pgx.Conn) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pids = append(c.pids, int(conn.PgConn().PID()))
	return nil
}

// ticks sums utime+stime (clock ticks, 100 per second) of the recorded backends still alive.
func (c *backendCPU) ticks() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sum int64
	for _, pid := range c.pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		sum += u + k
	}
	return sum
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stmtCounter is a pgx tracer counting the round trips a benchmark makes: a statement, or a pipeline (pgx.Batch).
type stmtCounter struct{ n atomic.Int64 }

func (c *stmtCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *stmtCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *stmtCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

func (c *stmtCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *stmtCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func rawIDs(xs []uuid.UUID) [][16]byte {
	out := make([][16]byte, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
