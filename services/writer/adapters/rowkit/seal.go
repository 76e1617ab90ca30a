package rowkit

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/orosync/orosync/events"
)

// SealJSON marshals v for a json column; with a cipher the JSON is encrypted and stored as a JSON string, so
// orosync's own copies of personal data are encrypted at rest like Mercato's.
func SealJSON(c *Cipher, v any) (string, error) {
	b, err := MarshalJSON(v)
	if err != nil {
		return "", fmt.Errorf("writer: encoding: %w", err)
	}
	return Seal(c, b), nil
}

// Seal is sealJSON of JSON already made.
func Seal(c *Cipher, b []byte) string {
	if c == nil {
		return string(b)
	}
	s, _ := json.Marshal(c.Encrypt(string(b)))
	return string(s)
}

func OpenJSON(c *Cipher, raw []byte, v any) error {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if c == nil {
			return fmt.Errorf("encrypted, but the tenant has no key configured")
		}
		raw = []byte(c.Decrypt(s))
	}
	if p, ok := v.(*events.Person); ok && reflect.ValueOf(p).Elem().IsZero() {
		return decodePerson(raw, p)
	}
	return json.Unmarshal(raw, v)
}
