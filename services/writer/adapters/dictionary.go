package adapters

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/services/writer/app"
)

// dictionary collects the values we write into columns Mercato backs with a per-tenant dictionary
// (customer_dictionary_entries), so its pickers offer them, as Mercato's own people command does for job titles.
type dictionary map[string]map[[2]string]string // tenant → (kind, normalized value) → value

func (d dictionary) add(tenant, kind string, v *string) {
	if v == nil {
		return
	}
	value := strings.TrimSpace(*v)
	if value == "" {
		return
	}
	if d[tenant] == nil {
		d[tenant] = map[[2]string]string{}
	}
	d[tenant][[2]string{kind, strings.ToLower(value)}] = value
}

const ensureDictionarySQL = `
INSERT INTO customer_dictionary_entries (id, organization_id, tenant_id, kind, value, normalized_value, label, created_at, updated_at)
SELECT gen_random_uuid(), $1, $2, v.kind, v.value, v.normalized, v.value, $6, $6
FROM unnest($3::text[], $4::text[], $5::text[]) AS v(kind, normalized, value)
ORDER BY v.kind, v.normalized
ON CONFLICT (organization_id, tenant_id, kind, normalized_value) DO NOTHING`

func (d dictionary) ensure(ctx context.Context, tx execer, scopes map[string]Scope, now time.Time) error {
	for tenant, entries := range d {
		sc := scopes[tenant]
		var kinds, norms, values []string
		for k, v := range entries {
			kinds, norms, values = append(kinds, k[0]), append(norms, k[1]), append(values, v)
		}
		if _, err := tx.Exec(ctx, ensureDictionarySQL, sc.OrganizationID, sc.TenantID, kinds, norms, values, now); err != nil {
			return fmt.Errorf("writer: dictionary entries: %w", err)
		}
	}
	return nil
}

// EnsureDictionary adds the values missing from customer_dictionary_entries (value and label as given,
// normalized_value = lower(trim(value))), as Mercato's commands do for the values they write.
func (s *Store) EnsureDictionary(ctx context.Context, values []app.DictionaryValue) error {
	d := dictionary{}
	for _, v := range values {
		if _, ok := s.scopes[v.Tenant]; ok {
			value := v.Value
			d.add(v.Tenant, v.Kind, &value)
		}
	}
	if len(d) == 0 {
		return nil
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return fmt.Errorf("writer: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := d.ensure(ctx, tx, s.scopes, s.now().UTC()); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("writer: commit: %w", err)
	}
	return nil
}
