package oro

import (
	"encoding/json"
	"unicode/utf8"
)

// The fast path decodes a document with one syntax check of the whole body (json.Valid) and one structural walk
// over it, slicing members out of the checked bytes instead of decoding every nesting level again with
// encoding/json. It gives the Document parseDocumentReference gives; anything it does not accept (every error
// and any oddity) goes to the reference, which names the problem. FuzzFastParseAgreesWithTheReference holds the
// two together.

// fastParser holds what one document's walk reuses.
type fastParser struct {
	// kvs is a stack of object members: each object's members are a capped window of it, dropped after each
	// resource.
	kvs []keyValue
	// names interns attribute and relationship names: every resource of a page repeats them.
	names map[string]string
}

// parseDocumentFast returns ok false when b must go to the reference parser.
func parseDocumentFast(b []byte) (*Document, bool) {
	if !json.Valid(b) {
		return nil, false
	}
	p := &fastParser{kvs: make([]keyValue, 0, 256), names: make(map[string]string)}
	top, ok := p.members(b, skipSpace(b, 0))
	if !ok {
		return nil, false
	}
	if errs, ok := top.get("errors"); ok && kind(errs) != 'n' {
		return nil, false
	}
	data, ok := top.get("data")
	if !ok {
		return nil, false
	}
	doc := &Document{}
	switch kind(data) {
	case 'n':
		doc.Single = true
	case '{':
		r, ok := p.resource(data)
		if !ok {
			return nil, false
		}
		doc.Single = true
		doc.Data = []Resource{r}
	case '[':
		if doc.Data, ok = p.resources(data); !ok {
			return nil, false
		}
	default:
		return nil, false
	}
	if inc, ok := top.get("included"); ok {
		if kind(inc) != '[' {
			return nil, false
		}
		if doc.Included, ok = p.resources(inc); !ok {
			return nil, false
		}
	}
	if links, ok := top.get("links"); ok {
		if doc.Links, ok = p.links(links); !ok {
			return nil, false
		}
	}
	return doc, true
}

func (p *fastParser) resources(raw []byte) ([]Resource, bool) {
	items := elements(raw)
	out := make([]Resource, 0, len(items))
	mark := len(p.kvs)
	for _, item := range items {
		r, ok := p.resource(item)
		if !ok {
			return nil, false
		}
		out = append(out, r)
		p.kvs = p.kvs[:mark]
	}
	return out, true
}

func (p *fastParser) resource(raw []byte) (Resource, bool) {
	// Members are sliced out of the copy in Raw, capacity capped so that appending to one copies it.
	own := append(json.RawMessage(nil), raw...)
	obj, ok := p.members(own, 0)
	if !ok {
		return Resource{}, false
	}
	r := Resource{Raw: own}
	if r.Type, ok = fastRequiredString(obj, "type"); !ok {
		return Resource{}, false
	}
	if r.ID, ok = fastRequiredString(obj, "id"); !ok {
		return Resource{}, false
	}
	if attrs, ok := obj.get("attributes"); ok {
		m, ok := p.members(attrs, 0)
		if !ok {
			return Resource{}, false
		}
		r.Attributes = make(map[string]json.RawMessage, len(m))
		for _, kv := range m {
			name, ok := p.name(kv.key)
			if !ok {
				return Resource{}, false
			}
			r.Attributes[name] = kv.val
		}
	}
	if rels, ok := obj.get("relationships"); ok {
		m, ok := p.members(rels, 0)
		if !ok {
			return Resource{}, false
		}
		r.Relationships = make(map[string]Relationship, len(m))
		for _, kv := range m {
			name, ok := p.name(kv.key)
			if !ok {
				return Resource{}, false
			}
			rel, ok := p.relationship(kv.val)
			if !ok {
				return Resource{}, false
			}
			r.Relationships[name] = rel
		}
	}
	return r, true
}

func (p *fastParser) relationship(raw []byte) (Relationship, bool) {
	obj, ok := p.members(raw, 0)
	if !ok {
		return Relationship{}, false
	}
	data, ok := obj.get("data")
	if !ok {
		return Relationship{}, true
	}
	switch kind(data) {
	case 'n':
		return Relationship{Null: true}, true
	case '{':
		id, ok := p.identifier(data)
		if !ok {
			return Relationship{}, false
		}
		return Relationship{Data: []Identifier{id}}, true
	case '[':
		items := elements(data)
		rel := Relationship{ToMany: true, Data: make([]Identifier, 0, len(items))}
		for _, item := range items {
			id, ok := p.identifier(item)
			if !ok {
				return Relationship{}, false
			}
			rel.Data = append(rel.Data, id)
		}
		return rel, true
	default:
		return Relationship{}, false
	}
}

func (p *fastParser) identifier(raw []byte) (Identifier, bool) {
	obj, ok := p.members(raw, 0)
	if !ok {
		return Identifier{}, false
	}
	var id Identifier
	if id.Type, ok = fastRequiredString(obj, "type"); !ok {
		return Identifier{}, false
	}
	if id.ID, ok = fastRequiredString(obj, "id"); !ok {
		return Identifier{}, false
	}
	return id, true
}

func (p *fastParser) links(raw []byte) (map[string]string, bool) {
	obj, ok := p.members(raw, 0)
	if !ok {
		return nil, false
	}
	links := make(map[string]string, len(obj))
	for _, kv := range obj {
		name, ok := unquote(kv.key)
		if !ok {
			return nil, false
		}
		switch kind(kv.val) {
		case 'n':
			delete(links, name) // a later null hides an earlier link of the same name, as in a decoded map
		case '"':
			s, ok := unquote(kv.val)
			if !ok {
				return nil, false
			}
			links[name] = s
		case '{':
			lo, ok := p.members(kv.val, 0)
			if !ok {
				return nil, false
			}
			href, ok := fastRequiredString(lo, "href")
			if !ok {
				return nil, false
			}
			links[name] = href
		default:
			return nil, false
		}
	}
	return links, true
}

// fastRequiredString is requiredString: the last member named key, a non-empty string.
func fastRequiredString(obj fastObject, key string) (string, bool) {
	raw, ok := obj.get(key)
	if !ok || kind(raw) != '"' {
		return "", false
	}
	s, ok := unquote(raw)
	return s, ok && s != ""
}

// fastObject is the members of a JSON object in document order, duplicates included.
type fastObject []keyValue

type keyValue struct {
	key []byte // quoted, as in the document
	val json.RawMessage
}

// get returns the value of the last member whose name is key, the one a decoded map keeps (members refuses
// escaped names, so the quoted bytes are the name).
func (o fastObject) get(key string) (json.RawMessage, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		k := o[i].key
		if len(k) == len(key)+2 && string(k[1:len(k)-1]) == key {
			return o[i].val, true
		}
	}
	return nil, false
}

// kind is the first byte of a value: '{', '[', '"', 'n', 't', 'f' or a number's first byte.
func kind(raw []byte) byte {
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// members splits the object starting at b[i] (syntax already checked) into its members; ok is false when the
// value there is not an object.
func (p *fastParser) members(b []byte, i int) (fastObject, bool) {
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	start := len(p.kvs)
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return fastObject{}, true
	}
	for i < len(b) {
		kEnd := skipValue(b, i)
		key := b[i:kEnd:kEnd]
		if containsByte(key, '\\') {
			return nil, false // an escaped name may spell "type" or "id": the reference decodes those
		}
		i = skipSpace(b, kEnd)
		i = skipSpace(b, i+1) // ':'
		vEnd := skipValue(b, i)
		p.kvs = append(p.kvs, keyValue{key: key, val: b[i:vEnd:vEnd]})
		i = skipSpace(b, vEnd)
		if i >= len(b) || b[i] == '}' {
			break
		}
		i = skipSpace(b, i+1) // ','
	}
	return fastObject(p.kvs[start:len(p.kvs):len(p.kvs)]), true
}

// elements splits the array raw (syntax already checked) into its elements.
func elements(raw []byte) []json.RawMessage {
	i := skipSpace(raw, 1)
	if i >= len(raw) || raw[i] == ']' {
		return nil
	}
	var out []json.RawMessage
	for i < len(raw) {
		end := skipValue(raw, i)
		out = append(out, raw[i:end:end])
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] == ']' {
			break
		}
		i = skipSpace(raw, i+1)
	}
	return out
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipValue returns the end of the (syntax-checked) value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return i
			}
			i++
		}
		return i
	}
}

// skipString returns the end of the string starting at b[i] (its opening quote).
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// unquote decodes a JSON string literal; plain ones (no escapes, valid UTF-8) are copied as they are, the rest
// are decoded by encoding/json (which replaces invalid UTF-8 and lone surrogates).
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	plain := true
	for _, c := range body {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain || (utf8.Valid(body) && !containsByte(body, '\\')) {
		return string(body), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// name decodes a member name, the same string for every resource that repeats it.
func (p *fastParser) name(raw []byte) (string, bool) {
	if s, ok := p.names[string(raw)]; ok {
		return s, true
	}
	s, ok := unquote(raw)
	if ok && len(p.names) < 4096 {
		p.names[string(raw)] = s
	}
	return s, ok
}
