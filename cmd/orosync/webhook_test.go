package main

import (
	"strings"
	"testing"
)

func TestAWebhookSecretServesOneTenantOnly(t *testing.T) {
	two := pipeline{Tenants: []connection{{Name: "acme", Types: []string{"contacts"}, WebhookSecret: "acme-secret"},
		{Name: "globex", Types: []string{"accounts"}}}}
	t.Run("a tenant without its own secret gets no webhooks", func(t *testing.T) {
		conns, err := two.webhookConnections("")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := conns["globex"]; ok || conns["acme"].Secret != "acme-secret" || conns["acme"].Types[0] != "contacts" {
			t.Errorf("connections %+v", conns)
		}
	})
	t.Run("the process-wide secret is refused with a tenants file", func(t *testing.T) {
		if _, err := two.webhookConnections("shared"); err == nil || !strings.Contains(err.Error(), "OROSYNC_WEBHOOK_SECRET") {
			t.Errorf("error %v, want OROSYNC_WEBHOOK_SECRET refused", err)
		}
	})
	t.Run("two tenants with one secret are refused", func(t *testing.T) {
		same := pipeline{Tenants: []connection{{Name: "acme", WebhookSecret: "s"}, {Name: "globex", WebhookSecret: "s"}}}
		if _, err := same.webhookConnections(""); err == nil || !strings.Contains(err.Error(), "acme and globex") {
			t.Errorf("error %v, want the shared secret refused", err)
		}
	})
	t.Run("the flags' one connection takes OROSYNC_WEBHOOK_SECRET", func(t *testing.T) {
		one := pipeline{Tenant: "acme", Types: []string{"contacts"}}
		conns, err := one.webhookConnections("flag-secret")
		if err != nil || len(conns) != 1 || conns["acme"].Secret != "flag-secret" {
			t.Errorf("connections %+v, %v", conns, err)
		}
	})
}
