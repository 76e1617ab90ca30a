package domain

import (
	gojson "github.com/goccy/go-json"

	"github.com/orosync/orosync/events"
)

// EncodeChange is the JSON body of a change message: byte for byte what encoding/json.Marshal gives (the writer
// and the contracts read that), through goccy/go-json, which encodes a change about three times faster.
// TestEncodeChangeIsEncodingJSON holds them together.
func EncodeChange(c *events.Change) ([]byte, error) {
	return gojson.Marshal(c)
}
