package rowkit

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"strings"
)

// DeriveTenantDEK derives a tenant's data encryption key the way Mercato's DerivedKmsService does (reference
// §1.8): root = SHA-256(secret); DEK = base64(PBKDF2-HMAC-SHA512(root, UTF-8 tenantId, 310000, 32 bytes)).
// secret is TENANT_DATA_ENCRYPTION_KEY (or its fallback variable) of the Mercato installation.
func DeriveTenantDEK(secret, tenantID string) (string, error) {
	root := sha256.Sum256([]byte(secret))
	key, err := pbkdf2.Key(sha512.New, string(root[:]), []byte(tenantID), 310_000, 32)
	if err != nil {
		return "", fmt.Errorf("deriving tenant key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(key), nil
}

// Cipher encrypts and decrypts column values in Mercato's format:
// base64(iv 12 bytes):base64(ciphertext):base64(GCM tag 16 bytes):v1, AES-256-GCM, key = base64-decoded DEK.
type Cipher struct{ aead cipher.AEAD }

func NewCipher(dek string) (*Cipher, error) {
	key, err := base64.StdEncoding.DecodeString(dek)
	if err != nil {
		return nil, fmt.Errorf("tenant DEK: not base64: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("tenant DEK: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("tenant DEK: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("tenant DEK: %w", err)
	}
	return &Cipher{aead: aead}, nil
}

func (c *Cipher) Encrypt(plain string) string {
	iv := make([]byte, 12)
	_, _ = rand.Read(iv) // crypto/rand.Read never fails
	sealed := c.aead.Seal(nil, iv, []byte(plain), nil)
	ct, tag := sealed[:len(sealed)-16], sealed[len(sealed)-16:]
	enc := base64.StdEncoding.EncodeToString
	return enc(iv) + ":" + enc(ct) + ":" + enc(tag) + ":v1"
}

// Decrypt is lenient like Mercato's: a value not in the format (plaintext written before encryption was turned
// on) is returned as is.
func (c *Cipher) Decrypt(v string) string {
	parts := strings.Split(v, ":")
	if len(parts) != 4 || parts[3] != "v1" {
		return v
	}
	dec := base64.StdEncoding.DecodeString
	iv, err1 := dec(parts[0])
	ct, err2 := dec(parts[1])
	tag, err3 := dec(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || len(iv) != 12 || len(tag) != 16 {
		return v
	}
	plain, err := c.aead.Open(nil, iv, append(ct, tag...), nil)
	if err != nil {
		return v
	}
	return string(plain)
}

// Nil-safe helpers: a nil cipher is a tenant without encryption.
func (c *Cipher) Enc(v string) string {
	if c == nil {
		return v
	}
	return c.Encrypt(v)
}

func (c *Cipher) EncPtr(v *string) *string {
	if c == nil || v == nil {
		return v
	}
	s := c.Encrypt(*v)
	return &s
}

func (c *Cipher) DecPtr(v *string) *string {
	if c == nil || v == nil {
		return v
	}
	s := c.Decrypt(*v)
	return &s
}
