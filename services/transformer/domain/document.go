package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/orosync/orosync/events"
)

// ParseDocument reads a JSON:API document (data: one resource or a list, optional included) as the raw records
// the poller would publish, each with every included resource. observed is their ObservedAt. An invalid document
// gives an error naming what is wrong.
func ParseDocument(b []byte, tenant string, observed time.Time) ([]events.RawRecord, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("document: not valid UTF-8")
	}
	var doc struct {
		Data     json.RawMessage   `json:"data"`
		Included []json.RawMessage `json:"included"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("document: not a JSON:API document: %w", err)
	}
	data := bytes.TrimSpace(doc.Data)
	var resources []json.RawMessage
	switch {
	case len(data) == 0 || string(data) == "null":
		return nil, errors.New("document: no data")
	case data[0] == '[':
		if err := json.Unmarshal(data, &resources); err != nil {
			return nil, fmt.Errorf("document: data: %w", err)
		}
	case data[0] == '{':
		resources = []json.RawMessage{data}
	default:
		return nil, errors.New("document: data is neither a resource object nor a list")
	}
	out := make([]events.RawRecord, 0, len(resources))
	for i, res := range resources {
		var head struct {
			Type       string `json:"type"`
			ID         string `json:"id"`
			Attributes struct {
				UpdatedAt *string `json:"updatedAt"`
			} `json:"attributes"`
		}
		if err := json.Unmarshal(res, &head); err != nil {
			return nil, fmt.Errorf("document: data[%d]: %w", i, err)
		}
		if !events.ValidToken(head.Type) || !events.ValidToken(head.ID) {
			return nil, fmt.Errorf("document: data[%d]: type %q and id %q must be non-empty subject tokens", i, head.Type, head.ID)
		}
		hash, err := events.ResourceHash(res)
		if err != nil {
			return nil, fmt.Errorf("document: data[%d]: %w", i, err)
		}
		r := events.RawRecord{RecordRef: events.RecordRef{Tenant: tenant, Type: head.Type, ID: head.ID},
			PayloadHash: hash, ObservedAt: observed, Via: "preview", Resource: res, Included: doc.Included}
		if head.Attributes.UpdatedAt != nil {
			at, err := time.Parse(time.RFC3339, *head.Attributes.UpdatedAt)
			if err != nil {
				return nil, fmt.Errorf("document: data[%d]: attributes.updatedAt %q is not an RFC 3339 time", i, *head.Attributes.UpdatedAt)
			}
			r.UpdatedAt = &at
		}
		out = append(out, r)
	}
	return out, nil
}

// PreviewLine is one line of `orosync map`: the change a record becomes, why it becomes none, or the dead letter
// it would go to.
type PreviewLine struct {
	Record     events.RecordRef `json:"record"`
	Change     *events.Change   `json:"change,omitempty"`
	Skipped    string           `json:"skipped,omitempty"`
	DeadLetter *FieldError      `json:"deadLetter,omitempty"`
}

// Preview maps every record of a parsed document.
func (m *Mapping) Preview(records []events.RawRecord) []PreviewLine {
	lines := make([]PreviewLine, 0, len(records))
	for _, r := range records {
		res, err := m.Map(r)
		line := PreviewLine{Record: r.RecordRef, Change: res.Change, Skipped: res.Skipped}
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				fe = &FieldError{Record: r.RecordRef, Field: "record", Rule: "internal", Detail: err.Error()}
			}
			line.DeadLetter = fe
		}
		lines = append(lines, line)
	}
	return lines
}
