package main

import (
	"bytes"
	"context"
	"os"
	"testing"
)

func TestDeployAccountsConfIsWhatNATSAccountsPrintsForTheExampleTenants(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"nats-accounts", "--config", "../../deploy/tenants.example.yaml"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile("../../deploy/nats/accounts.conf")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, out.Bytes()) {
		t.Errorf("deploy/nats/accounts.conf differs from orosync nats-accounts --config deploy/tenants.example.yaml; regenerate it:\n%s", out.String())
	}
}

func TestNATSAccountsRefusesATenantThatIsNotASubjectToken(t *testing.T) {
	for _, bad := range []string{"a.b", "_reconciler", "a b"} {
		if err := run(context.Background(), []string{"nats-accounts", "--tenants", bad}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("nats-accounts --tenants %q succeeded", bad)
		}
	}
}
