// Package domain maps Oro records to Mercato changes with a versioned, declarative mapping (mapping.go). Pure
// functions: no I/O, no clock.
package domain

import (
	"fmt"
	"os"
	"sync"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/mappings"
)

// MappingVersion of the default mapping (mappings/oro-v1.yaml); recorded on every change it produces.
const MappingVersion = "oro-v1"

// Longest text value accepted into a Mercato column; anything longer is treated as bad input, not truncated.
const maxText = 1000

// FieldError says which field of which record broke which rule. It is permanent: retrying will not help, so the
// record goes to the dead-letter stream and the rest proceeds.
type FieldError struct {
	Record events.RecordRef `json:"record"`
	Field  string           `json:"field"`
	Rule   string           `json:"rule"`
	Detail string           `json:"reason"`
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", e.Record.Type, e.Record.ID, e.Field, e.Detail)
}

var defaultMapping = sync.OnceValues(func() (*Mapping, error) {
	b, err := mappings.Files.ReadFile(mappings.Default)
	if err != nil {
		return nil, err
	}
	return Parse(b)
})

// Default is the shipped default mapping. It panics if the embedded file is broken: a test guards it.
func Default() *Mapping {
	m, err := defaultMapping()
	if err != nil {
		panic(fmt.Sprintf("default mapping %s: %v", mappings.Default, err))
	}
	return m
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// LoadMapping reads a mapping version file; an empty path is the shipped default.
func LoadMapping(path string) (*Mapping, error) {
	if path == "" {
		return defaultMapping()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
