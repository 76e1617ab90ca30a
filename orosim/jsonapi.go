package orosim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

const mediaType = "application/vnd.api+json"

// oroDateTime is how Oro renders datetimes: UTC, second precision, "Z".
const oroDateTime = "2006-01-02T15:04:05Z"

// apiError is one member of a JSON:API "errors" array as Oro builds it
// (JsonApiDocumentBuilder::convertErrorToArray): status is a string.
type apiError struct {
	Status string       `json:"status"`
	Title  string       `json:"title"`
	Detail string       `json:"detail,omitempty"`
	Source *errorSource `json:"source,omitempty"`
}

type errorSource struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
}

func filterError(detail, param string) apiError {
	return apiError{Status: "400", Title: "filter constraint", Detail: detail, Source: &errorSource{Parameter: param}}
}

func valueError(detail, param string) apiError {
	return apiError{Status: "400", Title: "unexpected value exception", Detail: detail, Source: &errorSource{Parameter: param}}
}

// member and object keep JSON keys in Oro's order; Go maps would sort them.
type member struct {
	Key   string
	Value any
}

type object []member

func (o object) MarshalJSON() ([]byte, error) { return appendJSON(nil, o) }

// appendJSON encodes the simulator's document values directly; going through
// encoding/json's Marshaler re-validates every nested object, which made a
// page[size]=-1 response over 100k contacts several times slower. Types it
// does not know fall back to encoding/json. HTML characters are not escaped,
// so links keep a literal "&".
func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case ref:
		b = append(b, `{"type":`...)
		b = appendString(b, x.Type)
		b = append(b, `,"id":`...)
		b = appendString(b, x.ID)
		return append(b, '}'), nil
	case object:
		b = append(b, '{')
		for i, m := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m.Key)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, m.Value); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []object:
		return appendList(b, len(x), func(b []byte, i int) ([]byte, error) { return appendJSON(b, x[i]) })
	case []ref:
		return appendList(b, len(x), func(b []byte, i int) ([]byte, error) { return appendJSON(b, x[i]) })
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}

func appendList(b []byte, n int, item func([]byte, int) ([]byte, error)) ([]byte, error) {
	b = append(b, '[')
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = item(b, i); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendString quotes s like encoding/json (invalid UTF-8 becomes U+FFFD,
// U+2028 and U+2029 are escaped) but leaves <, > and & alone.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// renderer turns records into JSON:API resource objects.
type renderer struct {
	base   string                     // absolute URL of the API root, for links
	links  bool                       // HATEOAS links (off with X-Include: noHateoas)
	fields map[string]map[string]bool // sparse fieldsets by type; nil = all fields
	title  bool                       // meta=title: add meta.title to each resource
}

func (rd renderer) resource(def *typeDef, r *record) object {
	id := r.idString()
	self := rd.base + "/" + def.Name + "/" + id
	res := object{{"type", def.Name}, {"id", id}}
	if rd.links {
		res = append(res, member{"links", object{{"self", self}}})
	}
	fields := rd.fields[def.Name]
	var attrs object
	for _, a := range def.Attrs {
		if fields != nil && !fields[a.Name] {
			continue
		}
		attrs = append(attrs, member{a.Name, attrValue(a, r.Attrs[a.Name])})
	}
	if len(attrs) > 0 {
		res = append(res, member{"attributes", attrs})
	}
	var rels object
	for _, rel := range def.Rels {
		if fields != nil && !fields[rel.Name] {
			continue
		}
		refs := r.Rels[rel.Name]
		var data any
		switch {
		case rel.ToMany && refs == nil:
			data = []ref{}
		case rel.ToMany:
			data = refs
		case len(refs) > 0:
			data = refs[0]
		}
		v := object{}
		if rd.links {
			v = append(v, member{"links", object{
				{"self", self + "/relationships/" + rel.Name},
				{"related", self + "/" + rel.Name},
			}})
		}
		v = append(v, member{"data", data})
		rels = append(rels, member{rel.Name, v})
	}
	if len(rels) > 0 {
		res = append(res, member{"relationships", rels})
	}
	if rd.title && !def.noTitle {
		res = append(res, member{"meta", object{{"title", objectName(r)}}})
	}
	return res
}

func attrValue(a attrDef, v any) any {
	switch a.Kind {
	case kindDateTime:
		if t, ok := v.(time.Time); ok {
			return t.UTC().Format(oroDateTime)
		}
		return nil
	case kindMoney:
		if v == nil {
			return nil
		}
	case kindObjects:
		l, _ := v.([]string)
		items := make([]object, len(l))
		for i, s := range l {
			items[i] = object{{a.ObjectKey, s}}
		}
		return items
	}
	return v
}

// writeJSON writes a JSON body with the given content type and status.
func writeJSON(w http.ResponseWriter, status int, contentType string, body any) {
	b, err := appendJSON(nil, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeErrors(w http.ResponseWriter, status int, errs ...apiError) {
	writeJSON(w, status, mediaType, map[string][]apiError{"errors": errs})
}
