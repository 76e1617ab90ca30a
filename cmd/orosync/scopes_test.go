package main

import (
	"strings"
	"testing"

	"github.com/orosync/orosync/oro"
)

func TestTwoConnectionsIntoOneMercatoScopeAreRefused(t *testing.T) {
	t.Run("in one tenants file", func(t *testing.T) {
		file := writeFile(t, "tenants.yaml", `tenants:
  - name: acme
    oro: {baseUrl: "https://a.example/api", clientId: a, clientSecretEnv: A_SECRET}
    mercato: {tenantId: 8f14e45f-ceea-467a-9a36-dedd4bea2543, organizationId: c9f0f895-fb98-4b91-99f2-3d7b5c2e3f10}
  - name: globex
    oro: {baseUrl: "https://g.example/api", clientId: g, clientSecretEnv: G_SECRET}
    mercato: {tenantId: 8f14e45f-ceea-467a-9a36-dedd4bea2543, organizationId: c9f0f895-fb98-4b91-99f2-3d7b5c2e3f10}
`)
		_, err := loadTenants(file, lookupIn(map[string]string{"A_SECRET": "a", "G_SECRET": "g"}), nil)
		if err == nil || !strings.Contains(err.Error(), "tenants[1] (globex): mercato: the tenantId and organizationId of acme") {
			t.Errorf("error %v, want globex refused for acme's scope", err)
		}
	})
	t.Run("in two processes", func(t *testing.T) {
		e := newE2E(t)
		e.sync() // acme syncs its contacts into the scope
		before := e.persons()
		other := e.p
		other.Tenant = "globex" // another Oro connection (the same simulator: Oro ids overlap), the same scope
		other.Oro = oro.Config{BaseURL: e.p.Oro.BaseURL, ClientID: e.p.Oro.ClientID, ClientSecret: e.p.Oro.ClientSecret}
		_, err := other.SyncOnce(e.ctx)
		if err == nil || !strings.Contains(err.Error(), "connection globex") || !strings.Contains(err.Error(), "is connection acme's") {
			t.Fatalf("error %v, want globex refused for acme's scope", err)
		}
		if after := e.persons(); !equalRows(before, after) {
			t.Error("acme's persons changed")
		}
		e.sync() // acme itself goes on
	})
}
