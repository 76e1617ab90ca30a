package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

// Custom field definitions: Mercato shows a custom field in its forms, list columns and filters only through its
// custom_field_defs row, and writes a value in the column of the definition's kind. Before its first batch the
// store creates the definitions of the mapping (Store.CustomFieldDefs) in every connection's tenant and
// organization, as Mercato's ensureCustomFieldDefinitions does for a module's fields (entities/lib/
// field-definitions.ts, createOnly): a definition the scope already has, live or deleted, is left as it is, so an
// admin's edits in Mercato (kind, encrypted, hidden, removed) stand. Values follow the definition Mercato would
// pick (cfDefs).

// cfDef is what a value write needs of a definition: its kind and whether Mercato encrypts its values.
type cfDef struct {
	kind      string
	encrypted bool
}

const insertCustomFieldDefsSQL = `
INSERT INTO custom_field_defs (id, entity_id, organization_id, tenant_id, key, kind, config_json, is_active, created_at, updated_at)
SELECT v.id, v.entity, $6, $7, v.key, v.kind, v.cfg, true, $8, $8
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) AS v(id, entity, key, kind, cfg)
WHERE NOT EXISTS (SELECT 1 FROM custom_field_defs d
                  WHERE d.entity_id = v.entity AND d.key = v.key AND d.tenant_id = $7 AND d.organization_id = $6)
ORDER BY v.id
ON CONFLICT (id) DO NOTHING`

// defConfig is the config_json Mercato's definitions API stores for the definition (api/definitions.ts POST:
// label defaulting to the key, formEditable and listVisible set, a markdown editor for multiline).
func defConfig(d events.CustomFieldDef) ([]byte, error) {
	label := d.Label
	if label == "" {
		label = d.Key
	}
	cfg := map[string]any{"label": label, "formEditable": true, "listVisible": !d.Hidden, "filterable": d.Filterable}
	if d.Description != "" {
		cfg["description"] = d.Description
	}
	if d.Multi {
		cfg["multi"] = true
	}
	if len(d.Options) > 0 {
		opts := make([]map[string]string, len(d.Options))
		for i, o := range d.Options {
			opts[i] = map[string]string{"value": o, "label": o}
		}
		cfg["options"] = opts
	}
	if d.Kind == "multiline" {
		cfg["editor"] = "markdown"
	}
	return json.Marshal(cfg)
}

// EnsureCustomFieldDefs creates the definitions missing in every connection's scope; it returns how many it
// created.
func (s *Store) EnsureCustomFieldDefs(ctx context.Context, defs []events.CustomFieldDef) (int, error) {
	if len(defs) == 0 {
		return 0, nil
	}
	now := s.now().UTC()
	created := 0
	done := map[Scope]bool{}
	for _, sc := range s.scopes {
		key := Scope{TenantID: sc.TenantID, OrganizationID: sc.OrganizationID}
		if done[key] {
			continue
		}
		done[key] = true
		ids := make([]uuid.UUID, len(defs))
		entities, keys, kinds := make([]string, len(defs)), make([]string, len(defs)), make([]string, len(defs))
		cfgs := make([]string, len(defs))
		for i, d := range defs {
			cfg, err := defConfig(d)
			if err != nil {
				return created, fmt.Errorf("writer: custom field %s %s: %w", d.Entity, d.Key, err)
			}
			ids[i] = customFieldDefID(sc, d.Entity, d.Key)
			entities[i], keys[i], kinds[i], cfgs[i] = d.Entity, d.Key, d.Kind, string(cfg)
		}
		tag, err := s.pool.Exec(ctx, insertCustomFieldDefsSQL, rowkit.UUIDs(ids), entities, keys, kinds, cfgs,
			sc.OrganizationID, sc.TenantID, now)
		if err != nil {
			return created, fmt.Errorf("writer: creating custom field definitions of tenant %s: %w", sc.TenantID, err)
		}
		created += int(tag.RowsAffected())
	}
	return created, nil
}

// ensureCustomFieldDefs creates the store's definitions once a process (a failure is tried again next batch).
func (s *Store) ensureCustomFieldDefs(ctx context.Context) error {
	if len(s.CustomFieldDefs) == 0 || s.defsEnsured.Load() {
		return nil
	}
	s.defsMu.Lock()
	defer s.defsMu.Unlock()
	if s.defsEnsured.Load() {
		return nil
	}
	n, err := s.EnsureCustomFieldDefs(ctx, s.CustomFieldDefs)
	if err != nil {
		return err
	}
	if n > 0 {
		s.logger().Info("custom field definitions created", "created", n)
	}
	s.defsEnsured.Store(true)
	return nil
}

// customFieldDefID is the deterministic id of orosync's definition of key on entity in a scope, so two writers
// creating it at once make one row.
func customFieldDefID(sc Scope, entity, key string) uuid.UUID {
	b := append(rowkit.AppendScope(nil, sc), "custom-field-def/"...)
	return rowkit.NameID(append(append(append(b, entity...), '/'), key...))
}

const loadCustomFieldDefsSQL = `
SELECT key, kind, config_json, tenant_id, organization_id, updated_at FROM custom_field_defs
WHERE entity_id = $1 AND is_active AND deleted_at IS NULL AND (tenant_id = ANY($2::uuid[]) OR tenant_id IS NULL)`

// cfDefs are, per scope of the records, the definitions Mercato's setRecordCustomFields uses for the entity's
// keys: active, of the tenant or global and of the organization or global; the most specific scope wins (tenant
// over organization), then the latest updated.
func cfDefs(ctx context.Context, tx pgx.Tx, entity string, recs []cfRecord) (map[Scope]map[string]cfDef, error) {
	var tenants []uuid.UUID
	scopes := map[Scope]bool{}
	for _, r := range recs {
		sc := Scope{TenantID: r.sc.TenantID, OrganizationID: r.sc.OrganizationID}
		if !scopes[sc] {
			scopes[sc] = true
			tenants = append(tenants, sc.TenantID)
		}
	}
	rows, err := tx.Query(ctx, loadCustomFieldDefsSQL, entity, rowkit.UUIDs(tenants))
	if err != nil {
		return nil, fmt.Errorf("writer: reading custom field definitions of %s: %w", entity, err)
	}
	defer rows.Close()
	type candidate struct {
		def       cfDef
		ten, org  *uuid.UUID
		updatedAt time.Time
	}
	byKey := map[string][]candidate{}
	for rows.Next() {
		var (
			key, kind string
			cfg       []byte
			c         candidate
		)
		if err := rows.Scan(&key, &kind, &cfg, &c.ten, &c.org, &c.updatedAt); err != nil {
			return nil, fmt.Errorf("writer: reading custom field definitions of %s: %w", entity, err)
		}
		var conf struct {
			Encrypted any `json:"encrypted"`
		}
		_ = json.Unmarshal(cfg, &conf) // config Mercato cannot read either: no encryption
		c.def = cfDef{kind: kind, encrypted: truthy(conf.Encrypted)}
		byKey[key] = append(byKey[key], c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writer: reading custom field definitions of %s: %w", entity, err)
	}
	out := make(map[Scope]map[string]cfDef, len(scopes))
	for sc := range scopes {
		defs := map[string]cfDef{}
		for key, cs := range byKey {
			best, bestScore := -1, -1
			for i, c := range cs {
				if (c.ten != nil && *c.ten != sc.TenantID) || (c.org != nil && *c.org != sc.OrganizationID) {
					continue
				}
				score := 0
				if c.ten != nil {
					score += 2
				}
				if c.org != nil {
					score++
				}
				if score > bestScore || score == bestScore && !c.updatedAt.Before(cs[best].updatedAt) {
					best, bestScore = i, score
				}
			}
			if best >= 0 {
				defs[key] = cs[best].def
			}
		}
		out[sc] = defs
	}
	return out, nil
}

// truthy is JavaScript's Boolean(v) for a decoded JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != ""
	}
	return true
}
