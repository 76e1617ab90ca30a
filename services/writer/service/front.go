package service

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters"
	"github.com/orosync/orosync/services/writer/app"
	"github.com/orosync/orosync/services/writer/domain"
)

// What the CLI needs of the writer besides Run: its configuration types, the review queue, and a direct applier.

// Scope is the Mercato tenant and organization an orosync connection writes into.
type Scope = adapters.Scope

// Result counts what a committed batch did.
type Result = app.Result

// Conflict policies (domain.Policy): per aggregate, optional per field.
type (
	Rules    = domain.Rules
	Policies = domain.Policies
	Policy   = domain.Policy
)

// The conflict policies.
const (
	OroWins       = domain.OroWins
	MercatoWins   = domain.MercatoWins
	LastWriteWins = domain.LastWriteWins
	Merge         = domain.Merge
)

// ParsePolicy accepts the policy names.
func ParsePolicy(s string) (Policy, error) { return domain.ParsePolicy(s) }

// EncryptionKeys is Mercato's tenant data encryption set-up: whether it encrypts, the secret its tenant keys derive
// from (EncryptionKeys.TenantDEK), the lookup-hash pepper.
type EncryptionKeys = adapters.Keys

// ReadEncryptionKeys reads the set-up from the environment variables Mercato reads (TENANT_DATA_ENCRYPTION,
// TENANT_DATA_ENCRYPTION_FALLBACK_KEY before TENANT_DATA_ENCRYPTION_KEY, trimmed and unquoted,
// ALLOW_DERIVED_KMS_FALLBACK, LOOKUP_HASH_PEPPER); a Vault set-up (VAULT_ADDR and VAULT_TOKEN) is refused.
func ReadEncryptionKeys(getenv func(string) string) (EncryptionKeys, error) {
	return adapters.ReadKeys(getenv)
}

// Conflict is one review-queue entry, decrypted; ConflictEmailMatch and the others are its kinds.
type Conflict = adapters.ConflictRow

// Kinds of review-queue entries.
const (
	ConflictFieldMerge      = domain.ConflictFieldMerge
	ConflictEmailMatch      = domain.ConflictEmailMatch
	ConflictDeleteLocalEdit = domain.ConflictDeleteLocalEdit
)

// ErrNoConflict is returned for an unknown conflict id; ErrBadResolution for a resolution that does not fit.
var (
	ErrNoConflict    = adapters.ErrNoConflict
	ErrBadResolution = domain.ErrBadResolution
)

// ReviewQueue is the writer's review queue of sync conflicts (orosync_conflicts) of some tenants.
type ReviewQueue struct {
	pool    *pgxpool.Pool
	store   *adapters.Store
	resolve app.ResolveConflict
}

// OpenReviewQueue connects to Mercato's database; Close releases it.
func OpenReviewQueue(ctx context.Context, databaseURL string, tenants map[string]Scope) (*ReviewQueue, error) {
	pool, err := adapters.NewPool(ctx, databaseURL, false)
	if err != nil {
		return nil, err
	}
	store, err := adapters.NewStore(pool, tenants, nil)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &ReviewQueue{pool: pool, store: store, resolve: app.ResolveConflict{Store: store}}, nil
}

// List returns the entries with the given status ("" : every status), at most limit.
func (q *ReviewQueue) List(ctx context.Context, status string, limit int) ([]Conflict, error) {
	return q.store.Conflicts(ctx, status, limit)
}

// Get returns one entry.
func (q *ReviewQueue) Get(ctx context.Context, id int64) (Conflict, error) {
	return q.store.Conflict(ctx, id)
}

// Resolve settles an open entry: oro, mercato, new, or link:<customer_entities.id>.
func (q *ReviewQueue) Resolve(ctx context.Context, id int64, resolution string) error {
	return q.resolve.Handle(ctx, id, resolution)
}

// Close releases the database connections.
func (q *ReviewQueue) Close() { q.pool.Close() }

// Applier applies batches of changes to Mercato's tables directly, without JetStream: what a test or a benchmark
// of the whole pipeline uses to prepare or measure the writer's part alone.
type Applier struct {
	pool  *pgxpool.Pool
	store *adapters.Store
	apply app.ApplyChanges
}

// NewApplier connects to Mercato's database (replicationRole: see Config.ReplicationRole); Close releases it.
func NewApplier(ctx context.Context, databaseURL string, tenants map[string]Scope, rules Rules, replicationRole bool) (*Applier, error) {
	pool, err := adapters.NewPool(ctx, databaseURL, replicationRole)
	if err != nil {
		return nil, err
	}
	store, err := adapters.NewStore(pool, tenants, time.Now)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &Applier{pool: pool, store: store, apply: app.ApplyChanges{Store: store, Rules: rules}}, nil
}

// DefineCustomFields makes the applier create the mapping's custom field definitions before its first batch, as
// the writer does (Config.CustomFieldDefs).
func (a *Applier) DefineCustomFields(defs []events.CustomFieldDef) { a.store.CustomFieldDefs = defs }

// Apply applies one batch as the writer's consumer does (its events stay in the outbox).
func (a *Applier) Apply(ctx context.Context, changes []events.Change) (Result, error) {
	return a.apply.Handle(ctx, changes)
}

// Close releases the database connections.
func (a *Applier) Close() { a.pool.Close() }

// Destination is where the writer puts one payload field in Mercato (domain.Destination).
type Destination = domain.Destination

// Destinations are, per aggregate ("address" for addresses) and payload field, the writer's Mercato destinations.
func Destinations() map[string]map[string][]Destination { return domain.Destinations() }
