package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// The reference implementations (encoding/json) define the hashes: the fast ones in hash.go must give the same
// bytes (TestFastHashesEqualTheReferenceOnOroFixtures, FuzzFastHashesEqualTheReference) and hand everything they
// do not handle to these.

// payloadHashReference is the reference PayloadHash (encoding/json): the
// hex SHA-256 of the canonical form of a JSON value (object keys sorted, insignificant space
// dropped), so the same content hashes the same whatever key order or spacing Oro used.
func payloadHashReference(raw []byte) (string, error) {
	canon, err := canonicalReference(raw)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
}

// resourceHashReference is the reference ResourceHash: the payload hash of a JSON:API resource object without its HATEOAS links (top-level and per
// relationship): links depend on how the resource was fetched (poll with noHateoas, webhook, base URL), not on
// its content, so the same version hashes, and is de-duplicated, the same whichever way it arrived.
func resourceHashReference(raw []byte) (string, error) {
	var res map[string]json.RawMessage
	if err := json.Unmarshal(raw, &res); err != nil {
		return "", fmt.Errorf("resource hash: %w", err)
	}
	delete(res, "links")
	if rels, ok := res["relationships"]; ok {
		var m map[string]map[string]json.RawMessage
		if err := json.Unmarshal(rels, &m); err == nil {
			for _, rel := range m {
				delete(rel, "links")
			}
			b, err := json.Marshal(m)
			if err != nil {
				return "", fmt.Errorf("resource hash: %w", err)
			}
			res["relationships"] = b
		}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return "", fmt.Errorf("resource hash: %w", err)
	}
	return payloadHashReference(b)
}

// canonicalReference re-encodes JSON with sorted object keys and numbers kept verbatim.
func canonicalReference(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
