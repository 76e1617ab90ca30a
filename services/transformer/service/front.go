package service

import (
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/domain"
	"github.com/orosync/orosync/services/transformer/mappings"
)

// What the CLI needs of the transformer besides Run: mappings and Oro's documents, for `orosync map` and replays.

// Mapping is a loaded mapping version.
type Mapping = domain.Mapping

// LoadMapping reads a mapping file ("" : the shipped default).
func LoadMapping(path string) (*Mapping, error) { return domain.LoadMapping(path) }

// DefaultMapping is the YAML of the mapping version the transformer runs unless told otherwise.
func DefaultMapping() ([]byte, error) { return mappings.Files.ReadFile(mappings.Default) }

// ParseDocument reads an Oro JSON:API document into the raw records of tenant, observed at the given time.
func ParseDocument(b []byte, tenant string, observed time.Time) ([]events.RawRecord, error) {
	return domain.ParseDocument(b, tenant, observed)
}

// ReportLine says what a mapping does with one Oro field (Mapping.Report).
type ReportLine = domain.ReportLine

// Dispositions of an Oro field in a report line.
const (
	Mapped  = domain.Mapped
	Custom  = domain.Custom
	Dropped = domain.Dropped
)
