// Package mappings holds the mapping versions shipped with orosync, one file per version (schema:
// contracts/mapping/mapping.schema.json). The default is the newest; `orosync map --mapping FILE` and
// `orosync replay --mapping FILE` take any other.
package mappings

import "embed"

// Files holds every shipped mapping version.
//
//go:embed *.yaml
var Files embed.FS

// Default names the mapping the transformer runs unless told otherwise.
const Default = "oro-v1.yaml"
