package events

import (
	"encoding/json"
	"testing"
	"time"
)

func TestRecordHashIsTheResourceHashUntilSomethingIsIncluded(t *testing.T) {
	res := json.RawMessage(`{"type":"contacts","id":"1","attributes":{"firstName":"Ann"}}`)
	rh, _ := ResourceHash(res)
	if got, _ := RecordHash(rh, nil); got != rh {
		t.Errorf("without included resources: %s, want the resource's %s", got, rh)
	}
	a := json.RawMessage(`{"type":"contactaddresses","id":"9","attributes":{"street":"1 Main St"}}`)
	b := json.RawMessage(`{"type":"contactaddresses","id":"9","attributes":{"street":"2 Main St"}}`)
	withA, _ := RecordHash(rh, []json.RawMessage{a})
	withB, _ := RecordHash(rh, []json.RawMessage{b})
	spaced, _ := RecordHash(rh, []json.RawMessage{json.RawMessage(`{ "id":"9", "type":"contactaddresses", "attributes":{"street":"1 Main St"}}`)})
	if withA == rh || withA == withB || withA != spaced {
		t.Errorf("an edited address must change the hash, formatting must not: %s %s %s", withA, withB, spaced)
	}
	if _, err := RecordHash(rh, []json.RawMessage{json.RawMessage(`{`)}); err == nil {
		t.Error("an included resource that is not JSON is an error")
	}
}

func TestVersionTimeIsTheLatestUpdatedAtOfTheRecordWithItsIncludedResources(t *testing.T) {
	own := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	inc := []json.RawMessage{
		json.RawMessage(`{"type":"contactaddresses","id":"1","attributes":{"updatedAt":"2026-01-02T03:04:00Z"}}`),
		json.RawMessage(`{"type":"contactaddresses","id":"2","attributes":{"updatedAt":"2026-02-01T00:00:00Z"}}`),
		json.RawMessage(`{"type":"contactaddresses","id":"3","attributes":{"updatedAt":"not a time"}}`),
	}
	if got := VersionTime(own, inc[:1]); !got.Equal(own) {
		t.Errorf("an older address: %v, want %v", got, own)
	}
	if got := VersionTime(own, inc); !got.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("a later address: %v", got)
	}
}
