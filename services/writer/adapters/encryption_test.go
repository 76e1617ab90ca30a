package adapters_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"regexp"
	"testing"

	"github.com/orosync/orosync/services/writer/adapters"
)

// mercatoDecrypt is an independent implementation of reference §1.8 (Mercato's DerivedKmsService and aes.ts):
// root = SHA-256(secret), DEK = PBKDF2-HMAC-SHA512(root, tenantId, 310000, 32) written out by hand,
// value = base64(iv):base64(ciphertext):base64(tag):v1 under AES-256-GCM.
func mercatoDecrypt(t *testing.T, secret, tenantID, value string) string {
	t.Helper()
	root := sha256.Sum256([]byte(secret))
	mac := hmac.New(sha512.New, root[:])
	mac.Write([]byte(tenantID))
	mac.Write(binary.BigEndian.AppendUint32(nil, 1)) // block 1 is enough for 32 bytes of SHA-512
	u := mac.Sum(nil)
	key := append([]byte(nil), u...)
	for range 310_000 - 1 {
		mac.Reset()
		mac.Write(u)
		u = mac.Sum(u[:0])
		for i := range key {
			key[i] ^= u[i]
		}
	}
	key = key[:32]
	m := regexp.MustCompile(`^([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]*):([A-Za-z0-9+/=]+):v1$`).FindStringSubmatch(value)
	if m == nil {
		t.Fatalf("%q is not in Mercato's format", value)
	}
	iv, _ := base64.StdEncoding.DecodeString(m[1])
	ct, _ := base64.StdEncoding.DecodeString(m[2])
	tag, _ := base64.StdEncoding.DecodeString(m[3])
	if len(iv) != 12 || len(tag) != 16 {
		t.Fatalf("iv %d bytes, tag %d bytes", len(iv), len(tag))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, iv, append(ct, tag...), nil)
	if err != nil {
		t.Fatalf("decrypting %q: %v", value, err)
	}
	return string(plain)
}

func TestEncryptedColumnsDecryptWithAnIndependentImplementationOfMercatosAlgorithm(t *testing.T) {
	const secret = "tenant-data-encryption-key-for-tests"
	dek, err := adapters.DeriveTenantDEK(secret, scope.TenantID.String())
	if err != nil {
		t.Fatal(err)
	}
	sc := scope
	sc.DEK = dek
	e := newEnv(t, sc)
	ann := contact{id: "1", first: "Zoë", last: "Ørsted", email: "zoe@example.com", job: "Engineer", sec: 10}
	e.apply(nil, ann.change())
	var display, email, first, last, job, snapshot string
	if err := e.db.QueryRow(e.ctx, `SELECT e.display_name, e.primary_email, p.first_name, p.last_name, p.job_title, r.snapshot::text
FROM customer_entities e JOIN customer_people p ON p.entity_id = e.id JOIN orosync_records r ON r.internal_entity_id = e.id`).
		Scan(&display, &email, &first, &last, &job, &snapshot); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ stored, want string }{{display, "Zoë Ørsted"}, {email, "zoe@example.com"}, {first, "Zoë"}, {last, "Ørsted"}, {job, "Engineer"}} {
		if got := mercatoDecrypt(t, secret, scope.TenantID.String(), c.stored); got != c.want {
			t.Errorf("decrypted %q, want %q", got, c.want)
		}
	}
	if regexp.MustCompile(`zoe@|Zoë|Ørsted`).MatchString(snapshot) {
		t.Errorf("orosync's snapshot holds plaintext: %s", snapshot)
	}
	// Same values under a new mapping version: ciphertexts differ each time, but comparisons are made on
	// decrypted values, so nothing of Mercato's is rewritten.
	before := e.person("1").updatedAt
	c := ann.change()
	c.MappingVersion = "contacts-v2"
	if r := e.apply(nil, c); r.Updated != 0 {
		t.Errorf("replay with the same values: %+v", r)
	}
	if after := e.person("1").updatedAt; !after.Equal(before) {
		t.Errorf("updated_at moved %v → %v on a replay with the same values", before, after)
	}
}
