package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Hasher computes PayloadHash and ResourceHash with one validated parse (fastjson, reused between calls) and
// no per-value allocation, instead of encoding/json's decode into maps and re-encode. It writes the very bytes
// the reference (hash_reference.go) writes: sorted keys, the last of duplicate keys, numbers verbatim, strings
// escaped as encoding/json escapes them without HTML escaping. Input it does not handle exactly like encoding/json
// (invalid JSON or UTF-8, surrogate escapes, which encoding/json replaces) goes to the reference.
//
// The zero value is ready to use; a Hasher is not safe for concurrent use (give each goroutine its own).
type Hasher struct {
	p   fastjson.Parser
	buf []byte
	kvs []member // members of the objects being written, innermost last
}

type member struct {
	key []byte
	v   *fastjson.Value
}

// PayloadHash is PayloadHash reusing h's buffers.
func (h *Hasher) PayloadHash(raw []byte) (string, error) {
	canon, ok := h.canonical(raw, false, false)
	if !ok {
		return payloadHashReference(raw)
	}
	return hexSum(canon), nil
}

// ResourceHash is ResourceHash reusing h's buffers.
func (h *Hasher) ResourceHash(raw []byte) (string, error) {
	canon, ok := h.canonical(raw, true, false)
	if !ok {
		return resourceHashReference(raw)
	}
	return hexSum(canon), nil
}

// ValidResourceHash is ResourceHash for a resource already known to be valid JSON, such as the Raw of a resource
// oro.ParseDocument returned: it skips the syntax check, a third of the work. Given invalid JSON it may return a
// hash where ResourceHash returns an error.
func (h *Hasher) ValidResourceHash(raw []byte) (string, error) {
	canon, ok := h.canonical(raw, true, true)
	if !ok {
		return resourceHashReference(raw)
	}
	return hexSum(canon), nil
}

func hexSum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// canonical writes raw's canonical form into h.buf (valid until the next call); resource drops the HATEOAS links
// as ResourceHash does; checked says raw is known to be valid JSON. ok is false when raw must go to the reference
// implementation.
func (h *Hasher) canonical(raw []byte, resource, checked bool) ([]byte, bool) {
	if (!checked && !json.Valid(raw)) || !utf8.Valid(raw) || hasSurrogateEscape(raw) {
		return nil, false
	}
	v, err := h.p.ParseBytes(raw)
	if err != nil {
		return nil, false
	}
	h.buf = h.buf[:0]
	if resource {
		o, err := v.Object()
		if err != nil {
			return nil, false // null and non-objects: the reference decides
		}
		h.buf = h.appendObject(h.buf, o, "links", true)
	} else {
		h.buf = h.appendValue(h.buf, v)
	}
	return h.buf, true
}

// hasSurrogateEscape reports a \uD800-\uDFFF escape (or something that looks like one, e.g. after an escaped
// backslash): fastjson and encoding/json decode those differently.
func hasSurrogateEscape(raw []byte) bool {
	for {
		i := bytes.Index(raw, []byte(`\u`))
		if i < 0 {
			return false
		}
		raw = raw[i+2:]
		if len(raw) >= 2 && (raw[0] == 'd' || raw[0] == 'D') {
			switch raw[1] {
			case '8', '9', 'a', 'b', 'c', 'd', 'e', 'f', 'A', 'B', 'C', 'D', 'E', 'F':
				return true
			}
		}
	}
}

func (h *Hasher) appendValue(dst []byte, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		return h.appendObject(dst, o, "", false)
	case fastjson.TypeArray:
		a, _ := v.Array()
		dst = append(dst, '[')
		for i, e := range a {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = h.appendValue(dst, e)
		}
		return append(dst, ']')
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		return appendString(dst, s)
	default: // numbers verbatim, true, false, null
		return v.MarshalTo(dst)
	}
}

// appendObject writes o with sorted keys, the last of duplicates winning, without the member named drop. At a
// resource's top level (resource true) "relationships" loses each relationship's links when every relationship
// is an object or null, as resourceHashReference does.
func (h *Hasher) appendObject(dst []byte, o *fastjson.Object, drop string, resource bool) []byte {
	start := len(h.kvs)
	o.Visit(func(k []byte, v *fastjson.Value) { h.kvs = append(h.kvs, member{key: k, v: v}) })
	ms := h.kvs[start:]
	slices.SortStableFunc(ms, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	dst = append(dst, '{')
	first := true
	for i, m := range ms {
		if i+1 < len(ms) && bytes.Equal(ms[i+1].key, m.key) {
			continue
		}
		if drop != "" && string(m.key) == drop {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, m.key)
		dst = append(dst, ':')
		if resource && string(m.key) == "relationships" && linksDroppable(m.v) {
			dst = h.appendRelationships(dst, m.v)
			continue
		}
		dst = h.appendValue(dst, m.v)
	}
	h.kvs = h.kvs[:start]
	return append(dst, '}')
}

// linksDroppable reports whether v decodes into map[string]map[string]json.RawMessage: an object whose members
// (duplicates included) are all objects or null.
func linksDroppable(v *fastjson.Value) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	ok := true
	o.Visit(func(_ []byte, rel *fastjson.Value) {
		if t := rel.Type(); t != fastjson.TypeObject && t != fastjson.TypeNull {
			ok = false
		}
	})
	return ok
}

func (h *Hasher) appendRelationships(dst []byte, v *fastjson.Value) []byte {
	o, _ := v.Object()
	start := len(h.kvs)
	o.Visit(func(k []byte, v *fastjson.Value) { h.kvs = append(h.kvs, member{key: k, v: v}) })
	ms := h.kvs[start:]
	slices.SortStableFunc(ms, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	dst = append(dst, '{')
	first := true
	for i, m := range ms {
		if i+1 < len(ms) && bytes.Equal(ms[i+1].key, m.key) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, m.key)
		dst = append(dst, ':')
		if rel, err := m.v.Object(); err == nil {
			dst = h.appendObject(dst, rel, "links", false)
		} else {
			dst = append(dst, "null"...)
		}
	}
	h.kvs = h.kvs[:start]
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendString quotes s exactly as encoding/json does with HTML escaping off.
func appendString(dst, s []byte) []byte { return appendQuoted(dst, s, false) }

// appendQuoted quotes s exactly as encoding/json does, escaping <, > and & when html is set (json.Marshal).
func appendQuoted[S []byte | string](dst []byte, s S, html bool) []byte {
	return append(appendQuotedBody(append(dst, '"'), s, html), '"')
}

// AppendJSONStringBody appends s escaped exactly as json.Marshal escapes a string (HTML characters, control
// characters, invalid UTF-8, the line and paragraph separators), without the quotes.
func AppendJSONStringBody(dst []byte, s string) []byte { return appendQuotedBody(dst, s, true) }

func appendQuotedBody[S []byte | string](dst []byte, s S, html bool) []byte {
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && (!html || (b != '<' && b != '>' && b != '&')) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}
