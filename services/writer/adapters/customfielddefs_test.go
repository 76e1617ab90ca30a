package adapters_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters"
	"github.com/orosync/orosync/services/writer/app"
)

// dealDefs define a deal custom field of each kind orosync's mapping uses.
var dealDefs = []events.CustomFieldDef{
	{Entity: "customers:customer_deal", Key: "cf_text", Kind: "text", Label: "Text"},
	{Entity: "customers:customer_deal", Key: "cf_multiline", Kind: "multiline"},
	{Entity: "customers:customer_deal", Key: "cf_integer", Kind: "integer", Filterable: true},
	{Entity: "customers:customer_deal", Key: "cf_float", Kind: "float"},
	{Entity: "customers:customer_deal", Key: "cf_boolean", Kind: "boolean"},
	{Entity: "customers:customer_deal", Key: "cf_select", Kind: "select", Options: []string{"low", "high"}, Filterable: true},
	{Entity: "customers:customer_deal", Key: "cf_currency", Kind: "currency"},
	{Entity: "customers:customer_deal", Key: "cf_phone", Kind: "phone"},
	{Entity: "customers:customer_deal", Key: "cf_list", Kind: "text", Multi: true, Hidden: true},
}

type defRow struct {
	tenant, org uuid.UUID
	kind        string
	active      bool
	config      map[string]any
}

// defRows are the custom_field_defs rows of an entity by key (several scopes: the last read).
func (e *env) defRows(entity string) map[string][]defRow {
	e.t.Helper()
	rows, err := e.db.Query(e.ctx, `SELECT key, tenant_id, organization_id, kind, is_active AND deleted_at IS NULL, config_json
FROM custom_field_defs WHERE entity_id = $1 ORDER BY key, tenant_id, organization_id`, entity)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]defRow{}
	for rows.Next() {
		var (
			key string
			r   defRow
			cfg []byte
		)
		if err := rows.Scan(&key, &r.tenant, &r.org, &r.kind, &r.active, &cfg); err != nil {
			e.t.Fatal(err)
		}
		if err := json.Unmarshal(cfg, &r.config); err != nil {
			e.t.Fatal(err)
		}
		out[key] = append(out[key], r)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func TestCustomFieldDefinitionsAreCreatedInEveryScopeAsMercatosDefinitionsAPIStoresThem(t *testing.T) {
	other := adapters.Scope{TenantID: uuid.MustParse("00000000-0000-4000-8000-0000000000b1"),
		OrganizationID: uuid.MustParse("00000000-0000-4000-8000-0000000000b2")}
	e := newEnvOf(t, map[string]adapters.Scope{"acme": scope, "beta": other})
	n, err := e.store.EnsureCustomFieldDefs(e.ctx, dealDefs)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2*len(dealDefs) {
		t.Errorf("created %d definitions, want %d (each in two scopes)", n, 2*len(dealDefs))
	}
	defs := e.defRows("customers:customer_deal")
	for _, d := range dealDefs {
		rows := defs[d.Key]
		if len(rows) != 2 || rows[0].tenant == rows[1].tenant {
			t.Errorf("%s: %d rows %v, want one in each tenant", d.Key, len(rows), rows)
			continue
		}
		for _, r := range rows {
			if r.kind != d.Kind || !r.active || r.config["formEditable"] != true || r.config["listVisible"] != !d.Hidden ||
				r.config["filterable"] != d.Filterable {
				t.Errorf("%s: kind %s active %v config %v", d.Key, r.kind, r.active, r.config)
			}
			if r.tenant == scope.TenantID && r.org != scope.OrganizationID || r.tenant == other.TenantID && r.org != other.OrganizationID {
				t.Errorf("%s: tenant %s with organization %s", d.Key, r.tenant, r.org)
			}
		}
	}
	mine := func(defs map[string][]defRow, key string) defRow {
		for _, r := range defs[key] {
			if r.tenant == scope.TenantID {
				return r
			}
		}
		t.Fatalf("no %s in tenant %s", key, scope.TenantID)
		return defRow{}
	}
	t.Run("label defaults to the key", func(t *testing.T) {
		if mine(defs, "cf_text").config["label"] != "Text" || mine(defs, "cf_float").config["label"] != "cf_float" {
			t.Errorf("labels %v, %v", mine(defs, "cf_text").config["label"], mine(defs, "cf_float").config["label"])
		}
	})
	t.Run("select options as value and label", func(t *testing.T) {
		b, _ := json.Marshal(mine(defs, "cf_select").config["options"])
		if string(b) != `[{"label":"low","value":"low"},{"label":"high","value":"high"}]` {
			t.Errorf("options %s", b)
		}
	})
	t.Run("multiline with the markdown editor, lists multi", func(t *testing.T) {
		if mine(defs, "cf_multiline").config["editor"] != "markdown" || mine(defs, "cf_list").config["multi"] != true {
			t.Errorf("multiline %v, list %v", mine(defs, "cf_multiline").config, mine(defs, "cf_list").config)
		}
	})
	t.Run("a replay creates nothing and an admin's edit stands", func(t *testing.T) {
		if _, err := e.db.Exec(e.ctx, `UPDATE custom_field_defs SET kind = 'multiline', config_json = config_json || '{"encrypted": true}'
WHERE key = 'cf_text' AND tenant_id = $1`, scope.TenantID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.Exec(e.ctx, `UPDATE custom_field_defs SET deleted_at = now(), is_active = false WHERE key = 'cf_float' AND tenant_id = $1`,
			scope.TenantID); err != nil {
			t.Fatal(err)
		}
		n, err := e.store.EnsureCustomFieldDefs(e.ctx, dealDefs)
		if err != nil || n != 0 {
			t.Fatalf("second run created %d (%v)", n, err)
		}
		again := e.defRows("customers:customer_deal")
		if r := mine(again, "cf_text"); r.kind != "multiline" || r.config["encrypted"] != true {
			t.Errorf("the admin's cf_text became %s %v", r.kind, r.config)
		}
		if mine(again, "cf_float").active {
			t.Error("a definition the admin removed came back")
		}
	})
}

func TestCustomFieldValuesGoToTheColumnOfTheirDefinitionsKind(t *testing.T) {
	e := newEnv(t, scope)
	e.store.CustomFieldDefs = dealDefs
	for i, tc := range []struct {
		name, key string
		value     any
		want      []string
	}{
		{"text", "cf_text", "Renewal", []string{"cf_text text=Renewal"}},
		{"text from a number", "cf_text", float64(12), []string{"cf_text text=12"}},
		{"multiline", "cf_multiline", "one line", []string{"cf_multiline multiline=one line"}},
		{"integer", "cf_integer", float64(12), []string{"cf_integer int=12"}},
		{"integer from Oro's text", "cf_integer", "250", []string{"cf_integer int=250"}},
		{"float from Oro's decimal", "cf_float", "50.0000", []string{"cf_float float=50"}},
		{"float", "cf_float", 0.25, []string{"cf_float float=0.25"}},
		{"boolean", "cf_boolean", true, []string{"cf_boolean bool=true"}},
		{"select", "cf_select", "high", []string{"cf_select text=high"}},
		{"currency", "cf_currency", "EUR", []string{"cf_currency text=EUR"}},
		{"phone", "cf_phone", "+48 600 100 200", []string{"cf_phone text=+48 600 100 200"}},
		{"multi", "cf_list", []any{"a", nil, float64(2)}, []string{"cf_list text=2", "cf_list text=a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oroID := strconv.Itoa(100 + i)
			v1 := withCustomFields(dealChange(oroID, 10, "Renewal", nil, nil), map[string]any{tc.key: tc.value})
			e.apply(nil, v1)
			deal, _ := e.mapped(events.AggregateDeal, "opportunities:"+oroID)
			var want []string
			for _, w := range tc.want {
				want = append(want, deal+" "+w)
			}
			got := func() []string {
				var out []string
				for _, r := range e.customFieldRows("customers:customer_deal") {
					if strings.HasPrefix(r, deal+" ") {
						out = append(out, r)
					}
				}
				return out
			}
			if !slices.Equal(got(), want) {
				t.Errorf("values %q, want %q", got(), want)
			}
			rows, evts := e.count(`SELECT count(*) FROM custom_field_values`), len(e.events("customers.deal.updated"))
			e.apply(nil, v1) // a replay
			e.apply(nil, withCustomFields(dealChange(oroID, 20, "Renewal", nil, nil), map[string]any{tc.key: tc.value}))
			if !slices.Equal(got(), want) || e.count(`SELECT count(*) FROM custom_field_values`) != rows {
				t.Errorf("after a replay and a version with the same value: %q", got())
			}
			if n := len(e.events("customers.deal.updated")); n != evts {
				t.Errorf("%d custom-field events for values that did not change", n-evts)
			}
		})
	}
}

func TestAValueItsDefinitionsKindCannotHoldFailsNamingRecordFieldAndKind(t *testing.T) {
	e := newEnv(t, scope)
	e.store.CustomFieldDefs = dealDefs
	_, err := app.ApplyChanges{Store: e.store}.Handle(e.ctx, []events.Change{
		withCustomFields(dealChange("9", 10, "Odd", nil, nil), map[string]any{"cf_integer": "a dozen"})})
	if err == nil || !strings.Contains(err.Error(), "opportunities/9") || !strings.Contains(err.Error(), "cf_integer") ||
		!strings.Contains(err.Error(), "integer") {
		t.Fatalf("err = %v", err)
	}
}

func TestValuesOfADefinitionMercatoEncryptsAreEncryptedAsMercatoWritesThem(t *testing.T) {
	env := map[string]string{"TENANT_DATA_ENCRYPTION_KEY": testSecret}
	e := newEncryptedEnv(t, env, false)
	e.store.CustomFieldDefs = dealDefs
	if _, err := e.store.EnsureCustomFieldDefs(e.ctx, dealDefs); err != nil {
		t.Fatal(err)
	}
	// An admin marks two fields encrypted in Mercato.
	if _, err := e.db.Exec(e.ctx, `UPDATE custom_field_defs SET config_json = config_json || '{"encrypted": true}'
WHERE key IN ('cf_text', 'cf_integer')`); err != nil {
		t.Fatal(err)
	}
	e.apply(nil, withCustomFields(dealChange("7", 10, "Renewal", nil, nil),
		map[string]any{"cf_text": "secret plans", "cf_integer": float64(12), "cf_float": 0.5}))
	stored := map[string]string{}
	for _, r := range e.customFieldRows("customers:customer_deal") {
		f := strings.Fields(r)
		stored[f[1]] = strings.Join(f[2:], " ")
	}
	if stored["cf_float"] != "float=0.5" {
		t.Errorf("an unencrypted field holds %q", stored["cf_float"])
	}
	var cipher []string
	for _, k := range []string{"cf_text", "cf_integer"} {
		v, ok := strings.CutPrefix(stored[k], "text=")
		if !ok || strings.Contains(v, "secret") || !strings.HasSuffix(v, ":v1") {
			t.Fatalf("%s holds %q, want Mercato's ciphertext in value_text", k, stored[k])
		}
		cipher = append(cipher, v)
	}
	a := mercatoCrypto(t, env, scope.TenantID, cipher, nil, nil)
	if len(a.Decrypted) != 2 || deref(a.Decrypted[0]) != "secret plans" || deref(a.Decrypted[1]) != "12" {
		t.Errorf("Mercato decrypts %v", a.Decrypted)
	}
	rows := e.count(`SELECT count(*) FROM custom_field_values`)
	e.apply(nil, withCustomFields(dealChange("7", 20, "Renewal", nil, nil),
		map[string]any{"cf_text": "secret plans", "cf_integer": float64(12), "cf_float": 0.5}))
	if n := e.count(`SELECT count(*) FROM custom_field_values`); n != rows || len(e.events("customers.deal.updated")) != 0 {
		t.Errorf("a version with the same values rewrote them (%d rows, was %d)", n, rows)
	}
}
