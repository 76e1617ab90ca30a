package fidelity

import "testing"

// Rows of customer_deals, customer_interactions and customer_comments against Mercato's deal, interaction and
// comment validators (customers/data/validators.ts dealCreateSchema, interactionCreateBaseSchema with
// interactionLinkedEntitySchema and interactionParticipantSchema, commentCreateSchema).
func TestDealsInteractionsAndCommentsAreRowsMercatosCommandsWouldWrite(t *testing.T) {
	s := syncFixtures(t)
	const deals = `SELECT count(*) FROM customer_deals WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL`
	const interactions = `SELECT count(*) FROM customer_interactions WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL`
	s.check(t, []rule{
		{name: "deal title 1 to 200, description at most 4000, status a deal_status value", rows: deals, query: `
SELECT id || ' ' || title || ' ' || coalesce(status, '') FROM customer_deals d WHERE tenant_id = $1 AND organization_id = $2
  AND (length(title) NOT BETWEEN 1 AND 200 OR length(description) > 4000 OR length(status) > 50
       OR (status IS NOT NULL AND NOT ` + inDictionary("deal_status", "d.status") + `))`},
		{name: "probability 0 to 100, currency three letters, amount not negative", rows: deals, query: `
SELECT id || ' ' || coalesce(probability::text, '') || ' ' || coalesce(value_currency, '') FROM customer_deals
WHERE tenant_id = $1 AND organization_id = $2
  AND (probability NOT BETWEEN 0 AND 100 OR length(value_currency) <> 3 OR value_amount < 0)`},
		{name: "a deal's stage is a stage of its pipeline, named as the stage", rows: deals + ` AND pipeline_stage_id IS NOT NULL`, query: `
SELECT d.id || ' ' || coalesce(d.pipeline_stage, '') FROM customer_deals d WHERE d.tenant_id = $1 AND d.organization_id = $2
  AND d.pipeline_stage_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM customer_pipeline_stages s
      WHERE s.id = d.pipeline_stage_id AND s.pipeline_id = d.pipeline_id AND s.name = d.pipeline_stage)`},
		{name: "interaction type an activity_type value, status an interaction_status value", rows: interactions, query: `
SELECT id || ' ' || interaction_type || ' ' || coalesce(status, '') FROM customer_interactions i
WHERE tenant_id = $1 AND organization_id = $2
  AND (NOT ` + inDictionary("activity_type", "i.interaction_type") + `
       OR (status IS NOT NULL AND NOT ` + inDictionary("interaction_status", "i.status") + `))`},
		{name: "an interaction belongs to a person, company or deal; duration not negative", rows: interactions, query: `
SELECT id::text FROM customer_interactions i WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL
  AND ((entity_id IS NULL AND deal_id IS NULL) OR duration_minutes < 0
    OR (entity_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM customer_entities e WHERE e.id = i.entity_id))
    OR (deal_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM customer_deals d WHERE d.id = i.deal_id)))`},
		{name: "linked entities are {id, type, label} of Mercato's validator", rows: interactions + ` AND linked_entities IS NOT NULL`, query: `
SELECT i.id || ' ' || x::text FROM customer_interactions i, jsonb_array_elements(CASE jsonb_typeof(i.linked_entities)
    WHEN 'array' THEN i.linked_entities ELSE jsonb_build_array(i.linked_entities) END) x
WHERE i.tenant_id = $1 AND i.organization_id = $2 AND i.linked_entities IS NOT NULL
  AND (jsonb_typeof(x) <> 'object' OR (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(x) k) <> ARRAY['id', 'label', 'type']
    OR x->>'id' !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    OR x->>'type' NOT IN ('company', 'deal', 'offer', 'resource') OR jsonb_typeof(x->'label') <> 'string' OR length(x->>'label') > 500)`},
		{name: "participants are Mercato users ({userId, ...}) or none", rows: interactions, query: `
SELECT i.id || ' ' || x::text FROM customer_interactions i, jsonb_array_elements(CASE jsonb_typeof(i.participants)
    WHEN 'array' THEN i.participants ELSE jsonb_build_array(i.participants) END) x
WHERE i.tenant_id = $1 AND i.organization_id = $2 AND i.participants IS NOT NULL
  AND (jsonb_typeof(x) <> 'object' OR x->>'userId' !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    OR EXISTS (SELECT 1 FROM jsonb_object_keys(x) k WHERE k NOT IN ('userId', 'name', 'email', 'status')))`},
		{name: "a comment has a body of 1 to 8000 and belongs to a person, company or deal",
			rows: `SELECT count(*) FROM customer_comments WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL`, query: `
SELECT id::text FROM customer_comments c WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL
  AND (length(body) NOT BETWEEN 1 AND 8000 OR (entity_id IS NULL AND deal_id IS NULL)
    OR (entity_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM customer_entities e WHERE e.id = c.entity_id)))`},
	})
}

// custom_field_values and custom_field_defs against Mercato's setRecordCustomFields and definitions API
// (entities/lib/helpers.ts columnFromKind, api/definitions.ts), and sync_external_id_mappings against Mercato's
// id mapping (data_sync/lib/id-mapping.ts: one record per integration, type and external id).
func TestCustomFieldsAndExternalIDsAreAsMercatoKeepsThem(t *testing.T) {
	s := syncFixtures(t)
	const values = `SELECT count(*) FROM custom_field_values WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL`
	const mappings = `SELECT count(*) FROM sync_external_id_mappings WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL`
	s.check(t, []rule{
		{name: "every value has an active definition of its entity in the scope", rows: values, query: `
SELECT v.entity_id || ' ' || v.field_key FROM custom_field_values v WHERE v.tenant_id = $1 AND v.organization_id = $2
  AND v.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM custom_field_defs d WHERE d.entity_id = v.entity_id
      AND d.key = v.field_key AND d.is_active AND d.deleted_at IS NULL
      AND (d.tenant_id = $1 OR d.tenant_id IS NULL) AND (d.organization_id = $2 OR d.organization_id IS NULL))`},
		{name: "every value is in the one column of its definition's kind", rows: values, query: `
SELECT v.entity_id || ' ' || v.field_key || ' kind ' || d.kind FROM custom_field_values v
JOIN custom_field_defs d ON d.entity_id = v.entity_id AND d.key = v.field_key AND d.tenant_id = $1 AND d.organization_id = $2
WHERE v.tenant_id = $1 AND v.organization_id = $2 AND v.deleted_at IS NULL
  AND (num_nonnulls(v.value_text, v.value_multiline, v.value_int, v.value_float, v.value_bool) <> 1
    OR CASE d.kind WHEN 'multiline' THEN v.value_multiline IS NULL WHEN 'integer' THEN v.value_int IS NULL
         WHEN 'float' THEN v.value_float IS NULL WHEN 'boolean' THEN v.value_bool IS NULL ELSE v.value_text IS NULL END)`},
		{name: "a select's values are its options", rows: values, query: `
SELECT v.field_key || ' ' || v.value_text FROM custom_field_values v
JOIN custom_field_defs d ON d.entity_id = v.entity_id AND d.key = v.field_key AND d.tenant_id = $1 AND d.organization_id = $2
WHERE v.tenant_id = $1 AND v.organization_id = $2 AND v.deleted_at IS NULL AND d.kind = 'select'
  AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(d.config_json->'options') o WHERE o->>'value' = v.value_text)`},
		{name: "definitions carry the config Mercato's forms, lists and filters read",
			rows: `SELECT count(*) FROM custom_field_defs WHERE tenant_id = $1 AND organization_id = $2`, query: `
SELECT entity_id || ' ' || key FROM custom_field_defs WHERE tenant_id = $1 AND organization_id = $2
  AND (kind NOT IN ('text', 'multiline', 'integer', 'float', 'boolean', 'select', 'currency', 'phone')
    OR coalesce(config_json->>'label', '') = '' OR jsonb_typeof(config_json->'formEditable') <> 'boolean'
    OR jsonb_typeof(config_json->'listVisible') <> 'boolean' OR jsonb_typeof(config_json->'filterable') <> 'boolean'
    OR (kind = 'select' AND jsonb_typeof(config_json->'options') <> 'array'))`},
		{name: "external ids are <Oro type>:<Oro id> of the integration, one live record each", rows: mappings, query: `
SELECT integration_id || ' ' || internal_entity_type || ' ' || external_id || ' x' || count(*) FROM sync_external_id_mappings
WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL
GROUP BY integration_id, internal_entity_type, external_id
HAVING count(*) > 1 OR integration_id <> 'sync_orocrm' OR external_id !~ '^[a-z0-9]+:[^:]+$'`},
		{name: "an external id names a live row of its type", rows: mappings, query: `
SELECT m.internal_entity_type || ' ' || m.external_id FROM sync_external_id_mappings m
WHERE m.tenant_id = $1 AND m.organization_id = $2 AND m.deleted_at IS NULL AND NOT CASE m.internal_entity_type
  WHEN 'customers.person' THEN EXISTS (SELECT 1 FROM customer_entities e WHERE e.id = m.internal_entity_id AND e.kind = 'person' AND e.deleted_at IS NULL)
  WHEN 'customers.company' THEN EXISTS (SELECT 1 FROM customer_entities e WHERE e.id = m.internal_entity_id AND e.kind = 'company' AND e.deleted_at IS NULL)
  WHEN 'customers.deal' THEN EXISTS (SELECT 1 FROM customer_deals d WHERE d.id = m.internal_entity_id AND d.deleted_at IS NULL)
  WHEN 'customers.interaction' THEN EXISTS (SELECT 1 FROM customer_interactions i WHERE i.id = m.internal_entity_id AND i.deleted_at IS NULL)
  WHEN 'customers.comment' THEN EXISTS (SELECT 1 FROM customer_comments c WHERE c.id = m.internal_entity_id AND c.deleted_at IS NULL)
  ELSE false END`},
	})
	t.Run("Oro's decimal budget is a float custom field of the deal", func(t *testing.T) {
		n := s.count(t, `SELECT count(*) FROM custom_field_values v JOIN sync_external_id_mappings m ON m.internal_entity_id::text = v.record_id
WHERE m.external_id = 'opportunities:opportunity1' AND v.field_key = 'oro_budget_amount' AND v.value_float = 50
  AND v.tenant_id = $1 AND v.organization_id = $2`, scope.TenantID, scope.OrganizationID)
		if n != 1 {
			t.Errorf("%d oro_budget_amount values of 50 in value_float for opportunity1", n)
		}
	})
	t.Run("every record mapped has its Mercato row", func(t *testing.T) {
		want := map[string]bool{}
		for _, c := range s.changes {
			if c.Op == "upsert" && c.Aggregate != "orosync.user" && (c.Company == nil || c.Company.MergeInto == nil) {
				want[c.Aggregate+" "+c.Source.Type+":"+c.Source.ID] = true
			}
		}
		for k := range want {
			agg, ext, _ := cut(k)
			if s.count(t, `SELECT count(*) FROM sync_external_id_mappings WHERE tenant_id = $1 AND organization_id = $2
  AND internal_entity_type = $3 AND external_id = $4 AND deleted_at IS NULL`, scope.TenantID, scope.OrganizationID, agg, ext) != 1 {
				t.Errorf("%s %s has no external id", agg, ext)
			}
		}
		if len(want) < 100 {
			t.Errorf("%d records mapped", len(want))
		}
	})
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
