package oro

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Identifier is a JSON:API resource identifier object ({"type": ..., "id": ...}).
type Identifier struct {
	Type string
	ID   string
}

// String renders the identifier as "type/id".
func (i Identifier) String() string { return i.Type + "/" + i.ID }

// Relationship is one member of a resource's "relationships" object.
//
// To-one relationships have ToMany false and either one element in Data or
// Null true ("data": null). To-many relationships have ToMany true and any
// number of elements in Data ("data": [] gives an empty, non-nil slice).
// A relationship that carried no "data" member at all (only links or meta)
// has Data nil and both flags false: its linkage is unknown, not empty.
type Relationship struct {
	Data   []Identifier
	ToMany bool
	Null   bool
}

// Resource is one JSON:API resource object as Oro sent it: the decoded
// identity, attributes and relationships plus the exact bytes in Raw.
type Resource struct {
	Type          string
	ID            string
	Attributes    map[string]json.RawMessage
	Relationships map[string]Relationship
	// Raw is the resource object exactly as received (byte for byte).
	Raw json.RawMessage
	// Invalid is set on a list page's resource that could not be decoded (ErrTooDeep): Type, ID and the updatedAt
	// attribute are what a shallow read found; it cannot become a record.
	Invalid error
}

// Identifier returns the resource's type and id.
func (r Resource) Identifier() Identifier { return Identifier{Type: r.Type, ID: r.ID} }

// UpdatedAt returns the "updatedAt" attribute parsed as an RFC 3339 time
// (Oro sends UTC "2006-01-02T15:04:05Z"). ok is false when the attribute is
// absent, null, not a string or not a valid timestamp.
func (r Resource) UpdatedAt() (time.Time, bool) {
	raw, ok := r.Attributes["updatedAt"]
	if !ok || kindOf(raw) != "string" {
		return time.Time{}, false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// Refs returns the identifiers of every related resource, in relationship
// name order then linkage order, without duplicates.
func (r Resource) Refs() []Identifier {
	names := make([]string, 0, len(r.Relationships))
	for name := range r.Relationships {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []Identifier
	seen := make(map[Identifier]bool)
	for _, name := range names {
		for _, id := range r.Relationships[name].Data {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

// Document is a decoded JSON:API top-level document.
type Document struct {
	// Data holds the primary resources: one for a single-resource document,
	// none when "data" was null.
	Data []Resource
	// Included holds the resources of the top-level "included" member.
	Included []Resource
	// Links holds the top-level links (self, first, prev, next) by name.
	// Link objects are reduced to their href; null links are left out.
	Links map[string]string
	// Single is true when "data" was an object or null rather than an array.
	Single bool
}

// ParseError says which part of a JSON:API document is wrong. Path uses
// the document's member names, e.g. "data[3].id" or
// "included[0].relationships.owner.data.type"; it is empty when the input
// is not JSON at all.
type ParseError struct {
	Path   string
	Reason string
}

func (e *ParseError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

func parseErrf(path, format string, args ...any) error {
	return &ParseError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// ParseDocument decodes a JSON:API document strictly: it checks the
// structure the client relies on (data, type and id of every resource, the
// shape of attributes, relationships and links) and names the first thing
// that is wrong as a *ParseError. Unknown members are ignored. It never
// panics, whatever the input.
func ParseDocument(b []byte) (*Document, error) {
	if doc, ok := parseDocumentFast(b); ok {
		return doc, nil
	}
	return parseDocumentReference(b)
}

// parseDocumentReference is ParseDocument with encoding/json at every level: it defines the result and names
// the errors; parseDocumentFast only speeds up the documents it accepts.
func parseDocumentReference(b []byte) (*Document, error) {
	var top map[string]json.RawMessage
	if k := kindOf(b); k != "object" {
		if !json.Valid(b) {
			return nil, invalidJSON(b)
		}
		return nil, parseErrf("document", "must be a JSON object, got %s", k)
	}
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, invalidJSON(b)
	}
	doc := &Document{}
	if errs, ok := top["errors"]; ok && kindOf(errs) != "null" {
		return nil, parseErrf("errors", "the document is an error document, not data")
	}
	data, ok := top["data"]
	if !ok {
		return nil, parseErrf("data", "missing")
	}
	switch kindOf(data) {
	case "null":
		doc.Single = true
	case "object":
		doc.Single = true
		r, err := parseResource("data", data)
		if err != nil {
			return nil, err
		}
		doc.Data = []Resource{r}
	case "array":
		rs, err := parseResources("data", data)
		if err != nil {
			return nil, err
		}
		doc.Data = rs
	default:
		return nil, parseErrf("data", "must be an object, an array or null, got %s", kindOf(data))
	}
	if inc, ok := top["included"]; ok {
		if k := kindOf(inc); k != "array" {
			return nil, parseErrf("included", "must be an array, got %s", k)
		}
		rs, err := parseResources("included", inc)
		if err != nil {
			return nil, err
		}
		doc.Included = rs
	}
	if links, ok := top["links"]; ok {
		l, err := parseLinks("links", links)
		if err != nil {
			return nil, err
		}
		doc.Links = l
	}
	return doc, nil
}

func invalidJSON(b []byte) error {
	var v any
	err := json.Unmarshal(b, &v)
	if err == nil {
		return &ParseError{Reason: "invalid JSON"}
	}
	return &ParseError{Reason: "invalid JSON: " + err.Error()}
}

func parseResources(path string, raw json.RawMessage) ([]Resource, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, parseErrf(path, "must be an array: %v", err)
	}
	out := make([]Resource, 0, len(items))
	for i, item := range items {
		r, err := parseResource(path+"["+strconv.Itoa(i)+"]", item)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func parseResource(path string, raw json.RawMessage) (Resource, error) {
	obj, err := object(path, raw)
	if err != nil {
		return Resource{}, err
	}
	r := Resource{Raw: append(json.RawMessage(nil), raw...)}
	if r.Type, err = requiredString(path+".type", obj, "type"); err != nil {
		return Resource{}, err
	}
	if r.ID, err = requiredString(path+".id", obj, "id"); err != nil {
		return Resource{}, err
	}
	if attrs, ok := obj["attributes"]; ok {
		m, err := object(path+".attributes", attrs)
		if err != nil {
			return Resource{}, err
		}
		r.Attributes = m
	}
	if rels, ok := obj["relationships"]; ok {
		m, err := object(path+".relationships", rels)
		if err != nil {
			return Resource{}, err
		}
		r.Relationships = make(map[string]Relationship, len(m))
		for _, name := range sortedKeys(m) {
			rel, err := parseRelationship(path+".relationships."+name, m[name])
			if err != nil {
				return Resource{}, err
			}
			r.Relationships[name] = rel
		}
	}
	return r, nil
}

func parseRelationship(path string, raw json.RawMessage) (Relationship, error) {
	obj, err := object(path, raw)
	if err != nil {
		return Relationship{}, err
	}
	data, ok := obj["data"]
	if !ok {
		return Relationship{}, nil // links/meta only: linkage unknown
	}
	path += ".data"
	switch k := kindOf(data); k {
	case "null":
		return Relationship{Null: true}, nil
	case "object":
		id, err := parseIdentifier(path, data)
		if err != nil {
			return Relationship{}, err
		}
		return Relationship{Data: []Identifier{id}}, nil
	case "array":
		var items []json.RawMessage
		if err := json.Unmarshal(data, &items); err != nil {
			return Relationship{}, parseErrf(path, "must be an array: %v", err)
		}
		rel := Relationship{ToMany: true, Data: make([]Identifier, 0, len(items))}
		for i, item := range items {
			id, err := parseIdentifier(path+"["+strconv.Itoa(i)+"]", item)
			if err != nil {
				return Relationship{}, err
			}
			rel.Data = append(rel.Data, id)
		}
		return rel, nil
	default:
		return Relationship{}, parseErrf(path, "must be an object, an array or null, got %s", k)
	}
}

func parseIdentifier(path string, raw json.RawMessage) (Identifier, error) {
	obj, err := object(path, raw)
	if err != nil {
		return Identifier{}, err
	}
	var id Identifier
	if id.Type, err = requiredString(path+".type", obj, "type"); err != nil {
		return Identifier{}, err
	}
	if id.ID, err = requiredString(path+".id", obj, "id"); err != nil {
		return Identifier{}, err
	}
	return id, nil
}

func parseLinks(path string, raw json.RawMessage) (map[string]string, error) {
	obj, err := object(path, raw)
	if err != nil {
		return nil, err
	}
	links := make(map[string]string, len(obj))
	for _, name := range sortedKeys(obj) {
		v := obj[name]
		switch k := kindOf(v); k {
		case "null":
			continue
		case "string":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, parseErrf(path+"."+name, "%v", err)
			}
			links[name] = s
		case "object":
			lo, err := object(path+"."+name, v)
			if err != nil {
				return nil, err
			}
			href, err := requiredString(path+"."+name+".href", lo, "href")
			if err != nil {
				return nil, err
			}
			links[name] = href
		default:
			return nil, parseErrf(path+"."+name, "must be a string or a link object, got %s", k)
		}
	}
	return links, nil
}

// object decodes raw, which must be a JSON object, into its members.
func object(path string, raw json.RawMessage) (map[string]json.RawMessage, error) {
	if k := kindOf(raw); k != "object" {
		return nil, parseErrf(path, "must be an object, got %s", k)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, parseErrf(path, "%v", err)
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	return m, nil
}

// requiredString returns the non-empty string member key of obj.
func requiredString(path string, obj map[string]json.RawMessage, key string) (string, error) {
	raw, ok := obj[key]
	if !ok {
		return "", parseErrf(path, "missing")
	}
	if k := kindOf(raw); k != "string" {
		return "", parseErrf(path, "must be a string, got %s", k)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", parseErrf(path, "%v", err)
	}
	if s == "" {
		return "", parseErrf(path, "must not be empty")
	}
	return s, nil
}

// kindOf names the JSON kind of an already syntax-checked value.
func kindOf(raw []byte) string {
	b := bytes.TrimLeft(raw, " \t\r\n")
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
