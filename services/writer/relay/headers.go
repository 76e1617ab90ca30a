package relay

import (
	"strings"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
	"github.com/nats-io/nats.go"

	"github.com/orosync/orosync/events"
)

// completeHeaders adds what outboxHeaders left out (rows written before it kept them all are unchanged).
func completeHeaders(h nats.Header, msgID, typ string) {
	h[nats.MsgIdHdr] = []string{msgID}
	setUnset(h, events.HeaderID, msgID)
	setUnset(h, events.HeaderType, typ)
	setUnset(h, events.HeaderSpecVersion, events.SpecVersion)
	setUnset(h, events.HeaderDataContentType, "application/json")
}

func setUnset(h nats.Header, k, v string) {
	if h.Get(k) == "" {
		h[k] = []string{v}
	}
}

// setHeaders sets h to the headers of an outbox row's JSON object of strings. The object outboxHeaders writes (no
// escapes, no spaces) is read in place; anything else goes through the JSON decoder.
func setHeaders(h nats.Header, obj string) error {
	clear(h)
	if setPlainHeaders(h, obj) {
		return nil
	}
	clear(h)
	m := map[string]string{}
	if err := gojson.Unmarshal([]byte(obj), &m); err != nil {
		return err
	}
	for k, v := range m {
		h[k] = []string{v}
	}
	return nil
}

// setPlainHeaders reads {"k":"v",...} with no backslash, whitespace or other value than a string; false: obj is
// something else (h may be partly set).
func setPlainHeaders(h nats.Header, obj string) bool {
	if len(obj) < 2 || obj[0] != '{' || obj[len(obj)-1] != '}' || strings.IndexByte(obj, '\\') >= 0 {
		return false
	}
	rest := obj[1 : len(obj)-1]
	for rest != "" {
		k, after, ok := plainString(rest)
		if !ok || after == "" || after[0] != ':' {
			return false
		}
		v, after, ok := plainString(after[1:])
		if !ok {
			return false
		}
		h[k] = []string{v}
		switch {
		case after == "":
			rest = ""
		case after[0] == ',' && len(after) > 1:
			rest = after[1:]
		default:
			return false
		}
	}
	return true
}

// plainString reads a JSON string without escapes at the start of s: its contents and what follows.
func plainString(s string) (string, string, bool) {
	if s == "" || s[0] != '"' {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", "", false
	}
	v := s[1 : 1+end]
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 {
			return "", "", false
		}
	}
	return v, s[2+end:], utf8.ValidString(v)
}
