package events

import (
	"encoding/json"
	"time"
)

// AppendJSON appends the bytes json.Marshal(r) gives, without encoding/json's reflection and second syntax pass
// over the resource: r.Resource and r.Included must already be valid JSON (as oro.ParseDocument returns them);
// they are compacted and HTML-escaped as json.Marshal does, not checked again. ok is false when r has something
// this encoder leaves to json.Marshal (an empty but non-nil resource, a time json.Marshal refuses).
func (r RawRecord) AppendJSON(dst []byte) (out []byte, ok bool) {
	if (r.Resource != nil && len(r.Resource) == 0) || !plainTime(r.ObservedAt) || (r.UpdatedAt != nil && !plainTime(*r.UpdatedAt)) {
		return dst, false
	}
	for _, inc := range r.Included {
		if inc != nil && len(inc) == 0 {
			return dst, false
		}
	}
	dst = append(dst, `{"tenant":`...)
	dst = appendQuoted(dst, r.Tenant, true)
	dst = append(dst, `,"type":`...)
	dst = appendQuoted(dst, r.Type, true)
	dst = append(dst, `,"id":`...)
	dst = appendQuoted(dst, r.ID, true)
	if r.UpdatedAt != nil {
		dst = append(dst, `,"updatedAt":`...)
		dst = appendTime(dst, *r.UpdatedAt)
	}
	dst = append(dst, `,"payloadHash":`...)
	dst = appendQuoted(dst, r.PayloadHash, true)
	dst = append(dst, `,"observedAt":`...)
	dst = appendTime(dst, r.ObservedAt)
	dst = append(dst, `,"via":`...)
	dst = appendQuoted(dst, r.Via, true)
	dst = append(dst, `,"resource":`...)
	dst = appendCompactHTML(dst, r.Resource)
	if len(r.Included) > 0 {
		dst = append(dst, `,"included":[`...)
		for i, inc := range r.Included {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCompactHTML(dst, inc)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), true
}

// plainTime is a time json.Marshal encodes (year 0-9999, offset in whole minutes under 24 hours).
func plainTime(t time.Time) bool {
	_, off := t.Zone()
	return t.Year() >= 0 && t.Year() <= 9999 && off%60 == 0 && off > -24*3600 && off < 24*3600
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

// compactSpecial marks the bytes appendCompactHTML looks at; it skips the others.
var compactSpecial = [256]bool{'"': true, '\\': true, ' ': true, '\t': true, '\r': true, '\n': true,
	'<': true, '>': true, '&': true, 0xE2: true}

// appendCompactHTML is json.Compact plus json.Marshal's HTML and U+2028/U+2029 escaping, for valid JSON.
func appendCompactHTML(dst []byte, src json.RawMessage) []byte {
	if src == nil {
		return append(dst, "null"...)
	}
	inString := false
	start := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		if !compactSpecial[c] {
			continue
		}
		switch {
		case c == '<' || c == '>' || c == '&':
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			start = i + 1
		case c == 0xE2:
			if i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xA8 {
				dst = append(dst, src[start:i]...)
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[src[i+2]&0xF])
				i += 2
				start = i + 1
			}
		case c == '"':
			inString = !inString
		case c == '\\':
			i++ // the escaped byte: a quote or backslash there neither ends the string nor escapes
		case !inString: // white space between tokens
			dst = append(dst, src[start:i]...)
			start = i + 1
		}
	}
	return append(dst, src[start:]...)
}
