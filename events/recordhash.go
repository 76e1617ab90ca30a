package events

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// RecordHash is the content hash of a raw record: its resource's hash alone when nothing is included (what every
// version had before records carried their addresses), else the hash of the resource's hash and each included
// resource's, in order, so an edited, added or removed address is a new version of its owner.
func (h *Hasher) RecordHash(resourceHash string, included []json.RawMessage) (string, error) {
	if len(included) == 0 {
		return resourceHash, nil
	}
	sum := sha256.New()
	sum.Write([]byte(resourceHash))
	for i, inc := range included {
		ih, err := h.ResourceHash(inc)
		if err != nil {
			return "", fmt.Errorf("included[%d]: %w", i, err)
		}
		sum.Write([]byte{'\n'})
		sum.Write([]byte(ih))
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// RecordHash is Hasher.RecordHash with a Hasher of its own.
func RecordHash(resourceHash string, included []json.RawMessage) (string, error) {
	var h Hasher
	return h.RecordHash(resourceHash, included)
}

// VersionTime is a raw record's updatedAt: the resource's own, or the latest updatedAt of its included resources
// when later (an address edited in Oro moves its own updatedAt, never its owner's). Included resources without
// a valid RFC 3339 updatedAt do not count.
func VersionTime(own time.Time, included []json.RawMessage) time.Time {
	latest := own
	for _, inc := range included {
		var r struct {
			Attributes struct {
				UpdatedAt string `json:"updatedAt"`
			} `json:"attributes"`
		}
		if json.Unmarshal(inc, &r) != nil {
			continue
		}
		if at, err := time.Parse(time.RFC3339Nano, r.Attributes.UpdatedAt); err == nil && at.After(latest) {
			latest = at
		}
	}
	return latest.UTC()
}

// NewRawRecord assembles the ORO_RAW record of a resource read from Oro, with the included resources it points
// to, whoever read it (poller, reconciler, webhook), so the same version always has the same hash and message id.
// resourceHash is the resource's ResourceHash; updatedAt its own updatedAt, nil for types without one (emails).
func NewRawRecord(ref RecordRef, resource json.RawMessage, resourceHash string, updatedAt *time.Time,
	included []json.RawMessage, observed time.Time, via string) (RawRecord, error) {
	hash, err := RecordHash(resourceHash, included)
	if err != nil {
		return RawRecord{}, err
	}
	r := RawRecord{RecordRef: ref, PayloadHash: hash, ObservedAt: observed.UTC(), Via: via, Resource: resource, Included: included}
	if updatedAt != nil {
		at := VersionTime(*updatedAt, included)
		r.UpdatedAt = &at
	}
	return r, nil
}
