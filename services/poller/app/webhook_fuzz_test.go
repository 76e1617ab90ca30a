package app_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/orosync/orosync/services/poller/app"
)

// FuzzVerifySignature: a signature is accepted exactly when it is the hex HMAC-SHA256 of the body with a non-empty
// secret (in either case, surrounding space ignored); nothing panics.
func FuzzVerifySignature(f *testing.F) {
	f.Add("hook-secret", []byte(`{"topic":"contact.updated"}`), "", true)
	f.Add("hook-secret", []byte(`{}`), "00ff", false)
	f.Add("", []byte(`{}`), "", true)
	f.Add("k", []byte{}, " zz ", false)
	f.Fuzz(func(t *testing.T, secret string, body []byte, sig string, sign bool) {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		want := mac.Sum(nil)
		if sign {
			sig = hex.EncodeToString(want)
			if len(body) > 0 && body[0]%2 == 1 {
				sig = " " + strings.ToUpper(sig) + "\t"
			}
		}
		got, err := hex.DecodeString(strings.TrimSpace(sig))
		ok := secret != "" && sig != "" && err == nil && hmac.Equal(got, want)
		if accepted := app.VerifySignature(secret, sig, body) == nil; accepted != ok {
			t.Fatalf("secret %q signature %q body %q: accepted %v, want %v", secret, sig, body, accepted, ok)
		}
	})
}
