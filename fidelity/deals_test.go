package fidelity

import "testing"

// Rows of customer_deal_stage_transitions, customer_deal_people and customer_deal_companies against Mercato's deal
// commands (customers/commands/deals.ts: upsertDealStageTransition, syncDealPeople, syncDealCompanies, the delete
// command), and the legacy activity tables against its legacy activity and todo commands (commands/activities.ts,
// commands/todos.ts), which write canonical interactions of source adapter:activity / adapter:todo and no
// customer_activities or customer_todo_links rows.
func TestDealLinksTransitionsAndLegacyActivitiesAreAsMercatosCommandsLeaveThem(t *testing.T) {
	s := syncFixtures(t)
	const transitions = `SELECT count(*) FROM customer_deal_stage_transitions WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL`
	const dealPeople = `SELECT count(*) FROM customer_deal_people l JOIN customer_deals d ON d.id = l.deal_id
WHERE d.tenant_id = $1 AND d.organization_id = $2`
	const dealCompanies = `SELECT count(*) FROM customer_deal_companies l JOIN customer_deals d ON d.id = l.deal_id
WHERE d.tenant_id = $1 AND d.organization_id = $2`
	s.check(t, []rule{
		{name: "a transition is to a stage of its pipeline, with the stage's label and position", rows: transitions, query: `
SELECT x.deal_id || ' ' || x.stage_label || ' ' || x.stage_order FROM customer_deal_stage_transitions x
WHERE x.tenant_id = $1 AND x.organization_id = $2 AND x.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM customer_pipeline_stages st WHERE st.id = x.stage_id AND st.pipeline_id = x.pipeline_id
      AND st.name = x.stage_label AND st.position = x.stage_order
      AND st.tenant_id = x.tenant_id AND st.organization_id = x.organization_id)`},
		{name: "one live transition per deal and stage, active, of a deal of the scope", rows: transitions, query: `
SELECT x.deal_id || ' ' || x.stage_id || ' x' || count(*) FROM customer_deal_stage_transitions x
LEFT JOIN customer_deals d ON d.id = x.deal_id AND d.tenant_id = x.tenant_id AND d.organization_id = x.organization_id
WHERE x.tenant_id = $1 AND x.organization_id = $2 AND x.deleted_at IS NULL
GROUP BY x.deal_id, x.stage_id HAVING count(*) > 1 OR bool_or(NOT x.is_active) OR bool_or(d.id IS NULL)`},
		{name: "a live deal on a stage has that stage's transition", rows: `SELECT count(*) FROM customer_deals
WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL AND pipeline_stage_id IS NOT NULL`, query: `
SELECT d.id || ' ' || coalesce(d.pipeline_stage, '') FROM customer_deals d
WHERE d.tenant_id = $1 AND d.organization_id = $2 AND d.deleted_at IS NULL AND d.pipeline_stage_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM customer_deal_stage_transitions x WHERE x.deal_id = d.id AND x.stage_id = d.pipeline_stage_id
      AND x.deleted_at IS NULL)`},
		{name: "transitioned by nobody (a sync has no acting user) or a live user of the tenant", rows: transitions, query: `
SELECT x.deal_id || ' by ' || x.transitioned_by_user_id FROM customer_deal_stage_transitions x
WHERE x.tenant_id = $1 AND x.organization_id = $2 AND x.transitioned_by_user_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = x.transitioned_by_user_id AND u.tenant_id = $1 AND u.deleted_at IS NULL)`},
		{name: "a deal's people: live people of its scope, once each, of a live deal", rows: dealPeople, query: `
SELECT l.deal_id || ' ' || l.person_entity_id || ' x' || count(*) FROM customer_deal_people l
JOIN customer_deals d ON d.id = l.deal_id
LEFT JOIN customer_entities e ON e.id = l.person_entity_id AND e.kind = 'person' AND e.deleted_at IS NULL
     AND e.tenant_id = d.tenant_id AND e.organization_id = d.organization_id
WHERE d.tenant_id = $1 AND d.organization_id = $2
GROUP BY l.deal_id, l.person_entity_id HAVING count(*) > 1 OR bool_or(e.id IS NULL) OR bool_or(d.deleted_at IS NOT NULL)`},
		{name: "a deal's companies: live companies of its scope, once each, of a live deal", rows: dealCompanies, query: `
SELECT l.deal_id || ' ' || l.company_entity_id || ' x' || count(*) FROM customer_deal_companies l
JOIN customer_deals d ON d.id = l.deal_id
LEFT JOIN customer_entities e ON e.id = l.company_entity_id AND e.kind = 'company' AND e.deleted_at IS NULL
     AND e.tenant_id = d.tenant_id AND e.organization_id = d.organization_id
WHERE d.tenant_id = $1 AND d.organization_id = $2
GROUP BY l.deal_id, l.company_entity_id HAVING count(*) > 1 OR bool_or(e.id IS NULL) OR bool_or(d.deleted_at IS NOT NULL)`},
		{name: "activities as the legacy APIs write them: interactions of their source, no legacy rows",
			rows: `SELECT count(*) FROM customer_interactions WHERE tenant_id = $1 AND organization_id = $2 AND deleted_at IS NULL`, query: `
SELECT 'customer_activities ' || id FROM customer_activities WHERE tenant_id = $1 AND organization_id = $2
UNION ALL SELECT 'customer_todo_links ' || id FROM customer_todo_links WHERE tenant_id = $1 AND organization_id = $2
UNION ALL SELECT 'interaction ' || id || ' ' || interaction_type || ' source ' || coalesce(source, 'NULL') FROM customer_interactions
WHERE tenant_id = $1 AND organization_id = $2
  AND source IS DISTINCT FROM CASE WHEN interaction_type = 'task' THEN 'adapter:todo' ELSE 'adapter:activity' END`},
	})
}
