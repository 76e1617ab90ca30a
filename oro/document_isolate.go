package oro

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// ErrTooDeep marks a resource nested deeper than a JSON decoder goes (encoding/json's 10,000 levels): it cannot be
// decoded, hashed or mapped, so it cannot become a record.
var ErrTooDeep = errors.New("JSON nested deeper than 10,000 levels")

// isolateTooDeep is the second look at a list page ParseDocument refused: when what it refused is resources nested
// too deep, and nothing else, the page is the rest of it plus those resources, each with Invalid set to ErrTooDeep
// and what a shallow read found (type, id, updatedAt), so the caller can dead-letter them by id and move on.
// Anything else wrong (a truncated or malformed body) gives ok false: the page as a whole is refused (and
// retried) as before.
func isolateTooDeep(b []byte) (doc *Document, ok bool) {
	top, ok := shallowMembers(b)
	if !ok {
		return nil, false
	}
	bad := map[int]Resource{} // by position in data
	keep, cuts := b, 0
	for _, name := range []string{"data", "included"} {
		arr, found := top[name]
		if !found {
			continue
		}
		elems, ok := shallowElements(arr)
		if !ok {
			return nil, false
		}
		for i, e := range elems {
			if json.Valid(e.raw) {
				continue
			}
			if !tooDeep(e.raw) {
				return nil, false
			}
			if name == "data" {
				bad[i] = shallowResource(e.raw)
			}
			keep = cut(keep, e.raw) // an included resource too deep is left out of the page
			cuts++
		}
	}
	if cuts == 0 {
		return nil, false
	}
	doc, err := ParseDocument(keep)
	if err != nil || doc.Single {
		return nil, false
	}
	all := make([]Resource, 0, len(doc.Data)+len(bad))
	for i := 0; len(doc.Data) > 0 || len(bad) > 0; i++ {
		if r, ok := bad[i]; ok {
			all = append(all, r)
			delete(bad, i)
			continue
		}
		if len(doc.Data) == 0 {
			return nil, false // the positions do not add up: not a page to trust
		}
		all, doc.Data = append(all, doc.Data[0]), doc.Data[1:]
	}
	doc.Data = all
	return doc, true
}

// tooDeep says whether raw fails to decode only because of its depth, as far as a decoder reads (the first error).
func tooDeep(raw []byte) bool {
	var v json.RawMessage
	err := json.Unmarshal(raw, &v)
	var se *json.SyntaxError
	return errors.As(err, &se) && strings.Contains(se.Error(), "exceeded max depth")
}

// cut removes elem (a subslice of b's backing array's copy at the same content) and the comma before or after it.
func cut(b, elem []byte) []byte {
	i := bytes.Index(b, elem)
	if i < 0 {
		return b
	}
	start, end := i, i+len(elem)
	if j := skipSpace(b, end); j < len(b) && b[j] == ',' {
		end = j + 1
	} else {
		for k := start - 1; k >= 0; k-- {
			if b[k] == ',' {
				start = k
				break
			}
			if b[k] != ' ' && b[k] != '\t' && b[k] != '\r' && b[k] != '\n' {
				break
			}
		}
	}
	out := make([]byte, 0, len(b)-(end-start))
	return append(append(out, b[:start]...), b[end:]...)
}

// shallowResource is what can be read of a resource without decoding its values: type, id and updatedAt.
func shallowResource(raw []byte) Resource {
	r := Resource{Raw: append(json.RawMessage(nil), raw...), Invalid: ErrTooDeep}
	obj, ok := shallowMembers(raw)
	if !ok {
		return r
	}
	r.Type, _ = unquoteShallow(obj["type"])
	r.ID, _ = unquoteShallow(obj["id"])
	if attrs, ok := shallowMembers(obj["attributes"]); ok {
		if at, ok := attrs["updatedAt"]; ok && json.Valid(at) {
			r.Attributes = map[string]json.RawMessage{"updatedAt": at}
		}
	}
	return r
}

func unquoteShallow(raw []byte) (string, bool) {
	if !json.Valid(raw) {
		return "", false
	}
	return unquote(raw)
}

type shallowElement struct{ raw []byte }

// shallowMembers splits an object into its members' raw values without checking them, refusing (ok false) any
// structure it cannot follow: it never reads past b.
func shallowMembers(b []byte) (map[string][]byte, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	out := map[string][]byte{}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return out, true
	}
	for i < len(b) {
		if b[i] != '"' {
			return nil, false
		}
		kEnd := skipString(b, i)
		if kEnd > len(b) || kEnd-i < 2 || b[kEnd-1] != '"' {
			return nil, false
		}
		key, ok := unquoteShallow(b[i:kEnd])
		if !ok {
			return nil, false
		}
		i = skipSpace(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return nil, false
		}
		vEnd := skipValue(b, i)
		out[key] = b[i:vEnd:vEnd]
		i = skipSpace(b, vEnd)
		if i >= len(b) {
			return nil, false
		}
		if b[i] == '}' {
			return out, true
		}
		if b[i] != ',' {
			return nil, false
		}
		i = skipSpace(b, i+1)
	}
	return nil, false
}

// shallowElements splits an array into its elements' raw values the same way.
func shallowElements(b []byte) ([]shallowElement, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	var out []shallowElement
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return out, true
	}
	for i < len(b) {
		end := skipValue(b, i)
		if end == i {
			return nil, false
		}
		out = append(out, shallowElement{raw: b[i:end:end]})
		i = skipSpace(b, end)
		if i >= len(b) {
			return nil, false
		}
		if b[i] == ']' {
			return out, true
		}
		if b[i] != ',' {
			return nil, false
		}
		i = skipSpace(b, i+1)
	}
	return nil, false
}
