package rowkit

import (
	"encoding/json"
	"slices"

	"github.com/orosync/orosync/mercatodb/gen/mercato/public/model"
)

// outboxBatchJSON is the JSON array of BatchEvent an orosync_outbox_batches row holds, appended by hand: headers and
// payloads are already JSON (from json.Marshal), and json.Marshal of a []BatchEvent re-validated and re-compacted
// every one of them.
func outboxBatchJSON(rows []model.OrosyncOutbox) []byte { return AppendOutboxBatchJSON(nil, rows) }

func AppendOutboxBatchJSON(b []byte, rows []model.OrosyncOutbox) []byte {
	size := 2
	for _, r := range rows {
		size += len(r.Subject) + len(r.MsgID) + len(r.EventType) + len(r.Headers) + len(r.Payload) + 40
	}
	b = slices.Grow(b, size)
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"s":`...)
		b = AppendJSONString(b, r.Subject)
		b = append(b, `,"m":`...)
		b = AppendJSONString(b, r.MsgID)
		b = append(b, `,"t":`...)
		b = AppendJSONString(b, r.EventType)
		b = append(b, `,"h":`...)
		b = appendRawJSON(b, r.Headers)
		b = append(b, `,"p":`...)
		b = appendRawJSON(b, r.Payload)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendRawJSON(b []byte, v string) []byte {
	if v == "" {
		return append(b, "null"...)
	}
	return append(b, v...)
}

// BatchEvent is one event of an orosync_outbox_batches row.
type BatchEvent struct {
	Subject string          `json:"s"`
	MsgID   string          `json:"m"`
	Type    string          `json:"t"`
	Headers json.RawMessage `json:"h"`
	Payload json.RawMessage `json:"p"`
}
