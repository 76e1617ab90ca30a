package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

// Which columns a tenant encrypts is Mercato's encryption_maps table, per entity: the row of the tenant and
// organization, else the tenant's, else the installation's, active and not deleted (tenantDataEncryptionService.ts
// getMap). An entity without a map is not encrypted, as in Mercato. The maps are read again after
// EncryptionMapsTTL, so an admin's edit reaches orosync as it reaches Mercato's own cache. A map rule's hashField
// names a lookup-hash column; no table orosync writes has one, and Mercato's ORM skips a rule whose column the
// entity lacks, so orosync does too.

// encryptionMaps is one read of the maps: per connection, per entity, the columns encrypted.
type encryptionMaps struct {
	at   time.Time
	cols map[string]map[string]map[string]bool
}

const loadEncryptionMapsSQL = `
SELECT entity_id, tenant_id, organization_id, fields_json FROM encryption_maps
WHERE is_active AND deleted_at IS NULL AND (tenant_id = ANY($1::uuid[]) OR tenant_id IS NULL)
ORDER BY updated_at, id`

// defaultEncryptionMapsTTL is how long a read of encryption_maps is used.
const defaultEncryptionMapsTTL = time.Minute

// begin starts a transaction with the encryption maps current and the custom field definitions created.
func (s *Store) begin(ctx context.Context) (pgx.Tx, error) {
	if err := s.refreshEncryption(ctx); err != nil {
		return nil, err
	}
	if err := s.ensureCustomFieldDefs(ctx); err != nil {
		return nil, err
	}
	return s.pool.BeginTx(ctx, pgx.TxOptions{})
}

// refreshEncryption reads the maps when no tenant has been read or the last read is older than the TTL; tenants
// without a key need none.
func (s *Store) refreshEncryption(ctx context.Context) error {
	if len(s.ciphers) == 0 {
		return nil
	}
	ttl := s.EncryptionMapsTTL
	if ttl == 0 {
		ttl = defaultEncryptionMapsTTL
	}
	if m := s.encMaps.Load(); m != nil && s.now().Sub(m.at) < ttl {
		return nil
	}
	s.encMu.Lock()
	defer s.encMu.Unlock()
	if m := s.encMaps.Load(); m != nil && s.now().Sub(m.at) < ttl {
		return nil
	}
	m, err := s.readEncryptionMaps(ctx)
	if err != nil {
		return err
	}
	s.encMaps.Store(m)
	return nil
}

type mapScope struct{ tenant, org uuid.UUID }

func (s *Store) readEncryptionMaps(ctx context.Context) (*encryptionMaps, error) {
	var tenants []uuid.UUID
	for conn := range s.ciphers {
		tenants = append(tenants, s.scopes[conn].TenantID)
	}
	rows, err := s.pool.Query(ctx, loadEncryptionMapsSQL, rowkit.UUIDs(tenants))
	if err != nil {
		return nil, fmt.Errorf("writer: reading encryption_maps: %w", err)
	}
	defer rows.Close()
	byScope := map[mapScope]map[string]map[string]bool{} // later rows (newer) win
	for rows.Next() {
		var (
			entity   string
			ten, org *uuid.UUID
			fields   []byte
		)
		if err := rows.Scan(&entity, &ten, &org, &fields); err != nil {
			return nil, fmt.Errorf("writer: reading encryption_maps: %w", err)
		}
		var sc mapScope
		if ten != nil {
			sc.tenant = *ten
		}
		if org != nil {
			sc.org = *org
		}
		if byScope[sc] == nil {
			byScope[sc] = map[string]map[string]bool{}
		}
		byScope[sc][entity] = mapColumns(fields)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: reading encryption_maps: %w", err)
	}
	m := &encryptionMaps{at: s.now(), cols: map[string]map[string]map[string]bool{}}
	for conn := range s.ciphers {
		sc := s.scopes[conn]
		m.cols[conn] = mapsOf(byScope, sc.TenantID, sc.OrganizationID)
	}
	return m, nil
}

// mapsOf picks each entity's map for a tenant and organization: exact, then the tenant's, then the global one.
func mapsOf(byScope map[mapScope]map[string]map[string]bool, tenant, org uuid.UUID) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, sc := range []mapScope{{}, {tenant: tenant}, {tenant: tenant, org: org}} {
		for entity, cols := range byScope[sc] {
			out[entity] = cols
		}
	}
	return out
}

// mapColumns reads fields_json ([{field, hashField?}]) as column names; Mercato accepts a field in camelCase too.
func mapColumns(fields []byte) map[string]bool {
	var rules []struct {
		Field any `json:"field"`
	}
	if json.Unmarshal(fields, &rules) != nil {
		var s string // a JSON string holding the array, as Mercato also reads
		if json.Unmarshal(fields, &s) != nil || json.Unmarshal([]byte(s), &rules) != nil {
			return map[string]bool{}
		}
	}
	cols := make(map[string]bool, len(rules))
	for _, r := range rules {
		if f, ok := r.Field.(string); ok && strings.TrimSpace(f) != "" {
			cols[snakeCase(f)] = true
		}
	}
	return cols
}

// snakeCase is Mercato's toSnakeCase: an underscore before each capital A-Z, doubled underscores collapsed, lower
// case (the column names are ASCII).
func snakeCase(s string) string {
	var b strings.Builder
	for _, r := range s {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return strings.ToLower(strings.ReplaceAll(b.String(), "__", "_"))
}

// columns encrypts the entity's columns as the tenant's map says; before the maps were read (never, since every
// batch begins with them), as Mercato's setup seeds them.
func (s *Store) columns(tenant, entity string) rowkit.Columns {
	c := s.ciphers[tenant]
	if c == nil {
		return rowkit.Columns{}
	}
	if m := s.encMaps.Load(); m != nil {
		return rowkit.NewColumns(c, m.cols[tenant][entity])
	}
	set := map[string]bool{}
	for _, col := range rowkit.DefaultEncryptedColumns()[entity] {
		set[col] = true
	}
	return rowkit.NewColumns(c, set)
}

// profileColumns are the encrypted columns of a person's or company's two rows.
type profileColumns struct{ entity, profile rowkit.Columns }

func (s *Store) profileColumns(tenant, profileEntity string) profileColumns {
	return profileColumns{entity: s.columns(tenant, rowkit.EntityCustomerEntity), profile: s.columns(tenant, profileEntity)}
}
