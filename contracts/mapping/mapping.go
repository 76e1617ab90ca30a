// Package mapping publishes the JSON Schema of a mapping version file (mapping.schema.json).
package mapping

import _ "embed"

// Schema is mapping.schema.json.
//
//go:embed mapping.schema.json
var Schema []byte
