package rowkit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// Keys is Mercato's tenant data encryption set-up, read from the environment variables Mercato itself reads
// (shared/lib/encryption/toggles.ts, kms.ts resolveDerivedKeySecret, aes.ts resolveLookupPepper), so orosync
// encrypts exactly when, and with the key, Mercato does.
type Keys struct {
	// Off: TENANT_DATA_ENCRYPTION is a false token (0, false, no, n, off, disable, disabled): Mercato encrypts
	// nothing and reads columns as stored.
	Off bool
	// Secret derives every tenant's key (DerivedKmsService); empty with Off or when no secret is set, where
	// Mercato's KMS is the no-op one and nothing is encrypted either.
	Secret string
	// Source names the variable Secret came from: TENANT_DATA_ENCRYPTION_FALLBACK_KEY, TENANT_DATA_ENCRYPTION_KEY,
	// or DEV_DEFAULT (ALLOW_DERIVED_KMS_FALLBACK outside production).
	Source string
	// Pepper keys lookup hashes (LOOKUP_HASH_PEPPER, else the fallback key, else the key); empty: Mercato's legacy
	// unkeyed SHA-256.
	Pepper string
}

// devSecret is the secret Mercato derives keys from outside production with ALLOW_DERIVED_KMS_FALLBACK=true.
const devSecret = "om-dev-tenant-encryption"

// ErrVault: Mercato keeps each tenant's key in HashiCorp Vault, which orosync does not read.
var ErrVault = errors.New("tenant data encryption: Mercato's tenant keys are in HashiCorp Vault (VAULT_ADDR and VAULT_TOKEN are set): " +
	"its Vault keys are random, not derived, so orosync cannot encrypt or read what Mercato encrypts; run orosync " +
	"with the environment of a Mercato that derives its keys (TENANT_DATA_ENCRYPTION_FALLBACK_KEY or " +
	"TENANT_DATA_ENCRYPTION_KEY, no VAULT_ADDR/VAULT_TOKEN), or with TENANT_DATA_ENCRYPTION=false if Mercato runs so")

// ReadKeys reads the set-up through getenv (os.Getenv). A Vault set-up is refused with ErrVault.
func ReadKeys(getenv func(string) string) (Keys, error) {
	if v := jsTrim(getenv("TENANT_DATA_ENCRYPTION")); v != "" {
		if on, ok := BoolToken(v); ok && !on {
			// Lookup hashes are keyed whatever the toggle (aes.ts resolveLookupPepper reads no toggle).
			return Keys{Off: true, Pepper: lookupPepper(getenv)}, nil
		}
	}
	if normalizeEnv(getenv("VAULT_ADDR")) != "" && normalizeEnv(getenv("VAULT_TOKEN")) != "" {
		return Keys{}, ErrVault
	}
	var k Keys
	for _, name := range []string{"TENANT_DATA_ENCRYPTION_FALLBACK_KEY", "TENANT_DATA_ENCRYPTION_KEY"} {
		if s := normalizeEnv(getenv(name)); s != "" {
			k.Secret, k.Source = s, name
			break
		}
	}
	if on, ok := BoolToken(getenv("ALLOW_DERIVED_KMS_FALLBACK")); k.Secret == "" && ok && on && getenv("NODE_ENV") != "production" {
		k.Secret, k.Source = devSecret, "DEV_DEFAULT"
	}
	k.Pepper = lookupPepper(getenv)
	return k, nil
}

// lookupPepper is aes.ts resolveLookupPepper: LOOKUP_HASH_PEPPER, else the fallback key, else the key; "": none.
func lookupPepper(getenv func(string) string) string {
	for _, name := range []string{"LOOKUP_HASH_PEPPER", "TENANT_DATA_ENCRYPTION_FALLBACK_KEY", "TENANT_DATA_ENCRYPTION_KEY"} {
		if s := normalizeEnv(getenv(name)); s != "" {
			return s
		}
	}
	return ""
}

// TenantDEK is the tenant's data encryption key, "" when nothing is encrypted.
func (k Keys) TenantDEK(tenantID string) (string, error) {
	if k.Off || k.Secret == "" {
		return "", nil
	}
	return DeriveTenantDEK(k.Secret, tenantID)
}

// Fingerprint is what Mercato's start-up banner prints of the secret (the first 16 hex digits of its SHA-256), so
// an operator can see both use the same secret without either printing it.
func (k Keys) Fingerprint() string {
	if k.Secret == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(k.Secret))
	return hex.EncodeToString(sum[:])[:16]
}

// normalizeEnv trims a value and strips one leading and one trailing quote (' or "), as Mercato's normalizeEnv.
func normalizeEnv(v string) string {
	v = jsTrim(v)
	if v != "" && (v[0] == '\'' || v[0] == '"') {
		v = v[1:]
	}
	if n := len(v); n > 0 && (v[n-1] == '\'' || v[n-1] == '"') {
		v = v[:n-1]
	}
	return v
}

// BoolToken reads a boolean the way Mercato's parseBooleanToken does; ok is false for anything else.
func BoolToken(v string) (value, ok bool) {
	switch strings.ToLower(jsTrim(v)) {
	case "1", "true", "yes", "y", "on", "enable", "enabled":
		return true, true
	case "0", "false", "no", "n", "off", "disable", "disabled":
		return false, true
	}
	return false, false
}

// HashForLookup is Mercato's hashForLookup without a context (what encryption maps' hashField columns hold):
// "v2:" + hex HMAC-SHA256(pepper, lower(trim(value))), or the legacy hex SHA-256 without a pepper.
func HashForLookup(pepper, value string) string {
	norm := jsTrim(jsLower(value))
	if pepper == "" {
		sum := sha256.Sum256([]byte(norm))
		return hex.EncodeToString(sum[:])
	}
	mac := hmac.New(sha256.New, []byte(pepper))
	mac.Write([]byte(norm))
	return "v2:" + hex.EncodeToString(mac.Sum(nil))
}

// LookupHashCandidates are the hashes a stored hash of value may be (keyed, and the legacy one written before a
// pepper was set), as Mercato's lookupHashCandidates.
func LookupHashCandidates(pepper, value string) []string {
	keyed, legacy := HashForLookup(pepper, value), HashForLookup("", value)
	if keyed == legacy {
		return []string{keyed}
	}
	return []string{keyed, legacy}
}
