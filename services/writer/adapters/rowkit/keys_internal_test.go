package rowkit

import (
	"errors"
	"testing"
)

func TestKeysAreReadFromTheEnvironmentAsMercatoReadsThem(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		env                   map[string]string
		off                   bool
		secret, source, peppr string
	}{
		{name: "nothing set", env: nil},
		{name: "the key", env: map[string]string{"TENANT_DATA_ENCRYPTION_KEY": "k"}, secret: "k", source: "TENANT_DATA_ENCRYPTION_KEY", peppr: "k"},
		{name: "the fallback key first", env: map[string]string{"TENANT_DATA_ENCRYPTION_FALLBACK_KEY": "f", "TENANT_DATA_ENCRYPTION_KEY": "k"},
			secret: "f", source: "TENANT_DATA_ENCRYPTION_FALLBACK_KEY", peppr: "f"},
		{name: "a blank fallback key is skipped", env: map[string]string{"TENANT_DATA_ENCRYPTION_FALLBACK_KEY": " '' ", "TENANT_DATA_ENCRYPTION_KEY": "k"},
			secret: "k", source: "TENANT_DATA_ENCRYPTION_KEY", peppr: "k"},
		{name: "trimmed and unquoted once", env: map[string]string{"TENANT_DATA_ENCRYPTION_KEY": "\t\"'k'\" \n"}, secret: "'k'",
			source: "TENANT_DATA_ENCRYPTION_KEY", peppr: "'k'"},
		{name: "the pepper apart", env: map[string]string{"LOOKUP_HASH_PEPPER": "p", "TENANT_DATA_ENCRYPTION_KEY": "k"}, secret: "k",
			source: "TENANT_DATA_ENCRYPTION_KEY", peppr: "p"},
		// Off, lookup hashes stay keyed (aes.ts resolveLookupPepper reads no toggle).
		{name: "off", env: map[string]string{"TENANT_DATA_ENCRYPTION": "Off", "TENANT_DATA_ENCRYPTION_KEY": "k"}, off: true, peppr: "k"},
		{name: "off as 0", env: map[string]string{"TENANT_DATA_ENCRYPTION": " 0 ", "TENANT_DATA_ENCRYPTION_KEY": "k"}, off: true, peppr: "k"},
		{name: "an unknown toggle is on", env: map[string]string{"TENANT_DATA_ENCRYPTION": "maybe", "TENANT_DATA_ENCRYPTION_KEY": "k"},
			secret: "k", source: "TENANT_DATA_ENCRYPTION_KEY", peppr: "k"},
		{name: "the development secret", env: map[string]string{"ALLOW_DERIVED_KMS_FALLBACK": "yes"}, secret: devSecret, source: "DEV_DEFAULT"},
		{name: "no development secret in production", env: map[string]string{"ALLOW_DERIVED_KMS_FALLBACK": "yes", "NODE_ENV": "production"}},
		{name: "an explicit key over the development secret", env: map[string]string{"ALLOW_DERIVED_KMS_FALLBACK": "1",
			"TENANT_DATA_ENCRYPTION_KEY": "k"}, secret: "k", source: "TENANT_DATA_ENCRYPTION_KEY", peppr: "k"},
		{name: "Vault half configured is no Vault", env: map[string]string{"VAULT_ADDR": "http://v", "VAULT_TOKEN": " ", "TENANT_DATA_ENCRYPTION_KEY": "k"},
			secret: "k", source: "TENANT_DATA_ENCRYPTION_KEY", peppr: "k"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ReadKeys(func(name string) string { return tc.env[name] })
			if err != nil {
				t.Fatal(err)
			}
			if k.Off != tc.off || k.Secret != tc.secret || k.Source != tc.source || k.Pepper != tc.peppr {
				t.Errorf("got %+v, want off=%v secret=%q source=%q pepper=%q", k, tc.off, tc.secret, tc.source, tc.peppr)
			}
			dek, err := k.TenantDEK("t")
			if err != nil {
				t.Fatal(err)
			}
			if (dek != "") != (tc.secret != "") {
				t.Errorf("tenant key %q with secret %q", dek, tc.secret)
			}
		})
	}
	if _, err := ReadKeys(func(name string) string {
		return map[string]string{"VAULT_ADDR": "http://v", "VAULT_TOKEN": "t"}[name]
	}); !errors.Is(err, ErrVault) {
		t.Errorf("Vault: err = %v, want ErrVault", err)
	}
}

func TestTheFingerprintIsMercatosBannerOne(t *testing.T) {
	// sha256("secret") = 2bb80d537b1da3e3...
	if got := (Keys{Secret: "secret"}).Fingerprint(); got != "2bb80d537b1da3e3" {
		t.Errorf("fingerprint %q", got)
	}
	if got := (Keys{}).Fingerprint(); got != "" {
		t.Errorf("fingerprint without a secret %q", got)
	}
}
