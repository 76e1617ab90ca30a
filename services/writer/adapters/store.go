// Package adapters is the writer's PostgreSQL side: the Store loads and persists each aggregate's rows (one file an
// aggregate: people, companies, deals, interactions, comments, addresses, links, custom fields, pipelines,
// dictionary entries), the bookkeeping, the review queue and the outbox, in one transaction a batch.
package adapters

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
	"github.com/orosync/orosync/services/writer/domain"
	"github.com/orosync/orosync/services/writer/relay"
)

// Scope is the Mercato tenant and organization an orosync connection writes into.
type Scope = rowkit.Scope

// Keys is Mercato's tenant data encryption set-up (rowkit.Keys).
type Keys = rowkit.Keys

// ReadKeys reads the set-up from Mercato's environment variables (rowkit.ReadKeys).
func ReadKeys(getenv func(string) string) (Keys, error) { return rowkit.ReadKeys(getenv) }

// Store applies batches to Mercato's tables in one transaction each.
type Store struct {
	pool    *pgxpool.Pool
	scopes  map[string]Scope
	ciphers map[string]*rowkit.Cipher
	now     func() time.Time
	// MatchEmails links a contact new to orosync to an unlinked Mercato person with the same primary email
	// (one candidate) or queues it for review (several). Not available on encrypted tenants (Mercato's
	// ciphertext has a random IV, so emails cannot be compared in SQL).
	MatchEmails bool
	// natives caches, per tenant, the emails of Mercato people orosync did not create (Mercato has no index on
	// primary_email, so a batch must not scan customer_entities): refreshed every nativesTTL.
	// Log receives notes that are not failures (an address skipped); nil: slog.Default().
	Log        *slog.Logger
	nativesMu  sync.Mutex
	natives    map[string]nativeEmails
	nativesTTL time.Duration
	// outboxBufs recycles the buffers of outbox batch rows (see insertOutbox).
	outboxBufs sync.Pool
	// Recent, shared with this process's Forwarder, gets the events of each outbox batch row inserted; nil: none.
	Recent *relay.Cache
	// EncryptionMapsTTL is how long a read of Mercato's encryption_maps is used (encryption.go); 0: a minute.
	EncryptionMapsTTL time.Duration
	encMu             sync.Mutex
	encMaps           atomic.Pointer[encryptionMaps]
	// CustomFieldDefs are the mapping's custom field definitions, created in every scope before the first batch
	// (customfielddefs.go).
	CustomFieldDefs []events.CustomFieldDef
	defsMu          sync.Mutex
	defsEnsured     atomic.Bool
}

// NewStore needs a pool and the scope of every tenant it may see.
func NewStore(pool *pgxpool.Pool, scopes map[string]Scope, now func() time.Time) (*Store, error) {
	if pool == nil || len(scopes) == 0 {
		return nil, fmt.Errorf("writer store: a pool and at least one tenant scope are required")
	}
	if now == nil {
		now = time.Now
	}
	ciphers := map[string]*rowkit.Cipher{}
	for tenant, sc := range scopes {
		if sc.DEK == "" {
			continue
		}
		c, err := rowkit.NewCipher(sc.DEK)
		if err != nil {
			return nil, fmt.Errorf("writer store: tenant %s: %w", tenant, err)
		}
		ciphers[tenant] = c
	}
	return &Store{pool: pool, scopes: scopes, ciphers: ciphers, now: now, MatchEmails: true, natives: map[string]nativeEmails{},
		nativesTTL: time.Minute}, nil
}

// Scope of a tenant, if configured.
func (s *Store) Scope(tenant string) (Scope, bool) {
	sc, ok := s.scopes[tenant]
	return sc, ok
}

// newIDs are the ids of a record's Mercato rows (rowkit.RecordIDs).
func newIDs(sc Scope, k domain.Key) ids {
	entity, profile := rowkit.RecordIDs(sc, k)
	return ids{entity: entity, profile: profile}
}

// ids remembers the Mercato ids of a stored record; a loaded person also its primary company
// (customer_people.company_entity_id, uuid.Nil: none), so an unchanged one is not written again.
type ids struct {
	entity, profile uuid.UUID
	company         uuid.UUID
	companyLoaded   bool
}

// keyColumns turns record keys into the four arrays the load statements unnest: tenant, organization, Oro type, id.
func (s *Store) keyColumns(keys []domain.Key) (ts, os []uuid.UUID, sts, sis rowkit.Texts) {
	n := len(keys)
	ts, os, sts, sis = make([]uuid.UUID, n), make([]uuid.UUID, n), make(rowkit.Texts, n), make(rowkit.Texts, n)
	for i, k := range keys {
		sc := s.scopes[k.Tenant]
		ts[i], os[i], sts[i], sis[i] = sc.TenantID, sc.OrganizationID, k.SourceType, k.SourceID
	}
	return ts, os, sts, sis
}

func (s *Store) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
