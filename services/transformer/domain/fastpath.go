package domain

import (
	"bytes"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/valyala/fastjson"

	"github.com/orosync/orosync/events"
)

// The fast path maps a raw record message body without decoding what the mapping does not read: one validated
// parse (fastjson, no per-value allocation), then only the attributes and relationships the type's fields,
// expressions and custom fields name become Go values. It accepts only plain, well-formed input and gives the
// same result Map gives for it; anything else (bad JSON, invalid UTF-8, lone surrogate escapes, duplicate or
// case-folded struct keys, a record that fails a rule) is handed back to the reference path (encoding/json + Map),
// which names the problem. FuzzFastPathAgreesWithMap holds the two together.

// needs is what the fast path must decode of one type's resources.
type needs struct {
	// attrs and rels map each name to itself: the decoded maps' keys are these strings, not new ones.
	attrs, rels       map[string]string
	allAttrs, allRels bool // an expression uses attr or rel as a whole
}

func (n *needs) add(section, name string) {
	if section == "attributes" {
		n.attrs[name] = name
	} else {
		n.rels[name] = name
	}
}

// exprUse is what one expression reads.
type exprUse struct {
	attrs, rels       []string
	allAttrs, allRels bool
	allOut            bool // out used other than as out.x: the map may be kept, so it is not reused
	callsIncluded     bool
	callsEmbed        bool
	// badCall names an embed or included call without exactly one argument.
	badCall string
}

// exprUses walks an expression: attr.x / rel.x (also attr["x"]) name one field; attr or rel in any other position
// reads them all; included(ref) reads whole included resources.
func exprUses(src string) exprUse {
	tree, err := parser.Parse(src)
	if err != nil {
		return exprUse{allAttrs: true, allRels: true, allOut: true, callsIncluded: true, callsEmbed: true}
	}
	v := &useVisitor{named: map[*ast.IdentifierNode]bool{}}
	ast.Walk(&tree.Node, v)
	u := v.use
	for id := range v.idents {
		if v.named[id] {
			continue
		}
		switch id.Value {
		case "attr":
			u.allAttrs = true
		case "rel":
			u.allRels = true
		case "out":
			u.allOut = true
		}
	}
	return u
}

type useVisitor struct {
	use    exprUse
	idents map[*ast.IdentifierNode]bool
	named  map[*ast.IdentifierNode]bool // identifiers seen as the object of attr.x / rel.x
}

func (v *useVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		if v.idents == nil {
			v.idents = map[*ast.IdentifierNode]bool{}
		}
		v.idents[x] = true
	case *ast.CallNode:
		id, ok := x.Callee.(*ast.IdentifierNode)
		if !ok || id.Value != "included" && id.Value != "embed" {
			return
		}
		v.use.callsIncluded = v.use.callsIncluded || id.Value == "included"
		v.use.callsEmbed = v.use.callsEmbed || id.Value == "embed"
		if len(x.Arguments) != 1 {
			v.use.badCall = id.Value
		}
	case *ast.MemberNode:
		id, ok := x.Node.(*ast.IdentifierNode)
		if !ok {
			return
		}
		p, ok := x.Property.(*ast.StringNode)
		if !ok {
			return
		}
		switch id.Value {
		case "attr":
			v.use.attrs = append(v.use.attrs, p.Value)
			v.named[id] = true
		case "rel":
			v.use.rels = append(v.use.rels, p.Value)
			v.named[id] = true
		case "out":
			v.named[id] = true
		}
	}
}

// compileNeeds fills in what each type's fast path decodes.
func (m *Mapping) compileNeeds() {
	for _, ct := range m.types {
		n := needs{attrs: map[string]string{}, rels: map[string]string{}}
		for _, f := range ct.fields {
			if f.prog == nil {
				n.add(f.section, f.name)
				continue
			}
			u := exprUses(f.spec.Expr)
			for _, a := range u.attrs {
				n.attrs[a] = a
			}
			for _, r := range u.rels {
				n.rels[r] = r
			}
			n.allAttrs = n.allAttrs || u.allAttrs
			n.allRels = n.allRels || u.allRels
			ct.outWhole = ct.outWhole || u.allOut
			ct.embeds = ct.embeds || u.callsEmbed
			m.includedWhole = m.includedWhole || u.callsIncluded
		}
		for _, c := range ct.custom {
			n.add(c.section, c.name)
		}
		ct.needs = n
	}
}

// MapRawJSON maps the JSON body of a raw record message (an events.RawRecord) published on ref's subject, as
// decoding it with encoding/json, checking it names ref, and calling Map would. ok is false when the body is not
// plain well-formed input or the record breaks a rule: the caller then takes that reference path, which gives the
// same result with the error naming the problem.
func (m *Mapping) MapRawJSON(body []byte, ref events.RecordRef) (res Result, ok bool) {
	if !utf8.Valid(body) || !plainEscapes(body) || fastjson.ValidateBytes(body) != nil {
		return Result{}, false
	}
	d := m.decoder()
	defer m.decoders.Put(d)
	v, err := d.p.ParseBytes(body)
	if err != nil {
		return Result{}, false
	}
	obj, err := v.Object()
	if err != nil {
		return Result{}, false
	}
	var (
		raw       events.RecordRef
		updatedAt *time.Time
		hash      string
		resVal    *fastjson.Value
		included  []*fastjson.Value
		seen      uint16
		bad       bool
	)
	obj.Visit(func(key []byte, val *fastjson.Value) {
		if bad {
			return
		}
		k := string(key) // does not allocate in a switch
		var bit uint16
		switch k {
		case "tenant":
			bit = 1
			raw.Tenant, bad = stringOrNull(val, raw.Tenant)
		case "type":
			bit = 2
			raw.Type, bad = stringOrNull(val, raw.Type)
		case "id":
			bit = 4
			raw.ID, bad = stringOrNull(val, raw.ID)
		case "updatedAt":
			bit = 8
			updatedAt, bad = timeOrNull(val)
		case "payloadHash":
			bit = 16
			hash, bad = stringOrNull(val, hash)
		case "observedAt":
			bit = 32
			_, bad = timeOrNull(val)
		case "via":
			bit = 64
			_, bad = stringOrNull(val, "")
		case "resource":
			bit = 128
			resVal = val
		case "included":
			bit = 256
			switch val.Type() {
			case fastjson.TypeNull:
				included = nil
			case fastjson.TypeArray:
				included, _ = val.Array()
			default:
				bad = true
			}
		default:
			bad = foldsTo(k, "tenant", "type", "id", "updatedAt", "payloadHash", "observedAt", "via", "resource", "included")
		}
		bad = bad || seen&bit != 0
		seen |= bit
	})
	if bad || raw != ref {
		return Result{}, false
	}
	if why, ok := m.Ignore[raw.Type]; ok {
		return Result{Skipped: why}, true
	}
	ct, ok := m.types[raw.Type]
	if !ok {
		return Result{}, false
	}
	if ct.spec.Embedded {
		return Result{Skipped: raw.Type + " is mapped inside the record that includes it"}, true
	}
	if resVal == nil {
		return Result{}, false
	}
	// The record's own attributes and relationships maps are scratch of the decoder unless an expression could
	// keep them (reads attr or rel whole); every value in them is new or shared read-only, never the map.
	d.scratch = !ct.needs.allAttrs && !ct.needs.allRels
	r, ok := d.resource(resVal, &ct.needs)
	d.scratch = false
	defer d.release()
	if !ok || r.Type != raw.Type || r.ID != raw.ID || ct.spec.RequireUpdatedAt && updatedAt == nil {
		return Result{}, false
	}
	rec := d.record()
	if len(included) > 0 {
		for _, inc := range included {
			n := &needs{}
			if it, ok := m.types[typeOf(inc)]; ok {
				n = &it.needs
			}
			if m.includedWhole {
				n = &needs{allAttrs: true, allRels: n.allRels, rels: n.rels}
			}
			ir, ok := d.resource(inc, n)
			if !ok {
				return Result{}, false
			}
			rec.included[ir.Type+"/"+ir.ID] = ir
		}
	}
	version := events.SourceVersion{PayloadHash: hash}
	if updatedAt != nil {
		version.UpdatedAt = updatedAt.UTC()
	}
	res, err = m.mapResource(raw, version, ct, rec, r)
	return res, err == nil
}

// typeOf is the type member of a resource object, "" when it has none.
func typeOf(v *fastjson.Value) string {
	o, err := v.Object()
	if err != nil {
		return ""
	}
	t := o.Get("type")
	if t == nil || t.Type() != fastjson.TypeString {
		return ""
	}
	return string(t.GetStringBytes())
}

// resource decodes a resource object as decodeResource would, materialising only what n names; every
// relationship's data is checked as evaluate checks it (stricter than needed for included resources that are
// never embedded, which only sends them to the reference path).
func (d *decoder) resource(v *fastjson.Value, n *needs) (resource, bool) {
	var r resource
	obj, err := v.Object()
	if err != nil {
		return r, false
	}
	var seen uint8
	bad := false
	obj.Visit(func(key []byte, val *fastjson.Value) {
		if bad {
			return
		}
		var bit uint8
		switch string(key) {
		case "type":
			bit = 1
			r.Type, bad = stringOrNull(val, r.Type)
		case "id":
			bit = 2
			r.ID, bad = stringOrNull(val, r.ID)
		case "attributes":
			bit = 4
			r.Attributes, bad = d.attributes(val, n)
		case "relationships":
			bit = 8
			r.rels, bad = d.relationships(val, n)
		default:
			bad = foldsTo(string(key), "type", "id", "attributes", "relationships")
		}
		bad = bad || seen&bit != 0
		seen |= bit
	})
	if bad || r.Type == "" || r.ID == "" {
		return r, false
	}
	if r.rels == nil {
		r.rels = map[string]any{}
	}
	return r, true
}

// attributes decodes the attributes n names. Unless an expression reads attr whole, null values are left out:
// attr.x and custom fields read absent and null alike.
func (d *decoder) attributes(v *fastjson.Value, n *needs) (map[string]any, bool) {
	switch v.Type() {
	case fastjson.TypeNull:
		return nil, false
	case fastjson.TypeObject:
	default:
		return nil, true
	}
	obj, _ := v.Object()
	d.kvs = d.kvs[:0]
	obj.Visit(func(key []byte, val *fastjson.Value) {
		name, needed := n.attrs[string(key)]
		if n.allAttrs && !needed {
			name = string(key)
		}
		if n.allAttrs || needed && val.Type() != fastjson.TypeNull {
			d.kvs = append(d.kvs, keyValue{name, val})
		}
	})
	var out map[string]any
	if d.scratch {
		if d.attrs == nil {
			d.attrs = make(map[string]any, len(d.kvs))
		}
		out = d.attrs
	} else {
		out = make(map[string]any, len(d.kvs))
	}
	for _, kv := range d.kvs {
		x, bad := d.toAny(kv.v)
		if bad {
			return nil, true
		}
		out[kv.k] = x
	}
	return out, false
}

type keyValue struct {
	k string
	v *fastjson.Value
}

// relationships checks every relationship as evaluate does and decodes the data of those n names (null data
// left out unless rel is read whole).
func (d *decoder) relationships(v *fastjson.Value, n *needs) (map[string]any, bool) {
	switch v.Type() {
	case fastjson.TypeNull:
		return nil, false
	case fastjson.TypeObject:
	default:
		return nil, true
	}
	obj, _ := v.Object()
	var out map[string]any
	bad := false
	obj.Visit(func(key []byte, val *fastjson.Value) {
		if bad {
			return
		}
		var data *fastjson.Value
		switch val.Type() {
		case fastjson.TypeNull:
		case fastjson.TypeObject:
			o, _ := val.Object()
			o.Visit(func(k []byte, e *fastjson.Value) {
				switch {
				case string(k) == "data":
					bad = bad || data != nil
					data = e
				case foldsTo(string(k), "data"):
					bad = true
				}
			})
		default:
			bad = true
		}
		if bad || !validRelData(data) {
			bad = true
			return
		}
		isNull := data == nil || data.Type() == fastjson.TypeNull
		name, needed := n.rels[string(key)]
		if !n.allRels && (!needed || isNull) {
			return
		}
		if !needed {
			name = string(key)
		}
		if out == nil {
			if d.scratch {
				if d.rels == nil {
					d.rels = make(map[string]any, 8)
				}
				out = d.rels
			} else {
				out = make(map[string]any, 8)
			}
		}
		var x any
		if !isNull {
			x, bad = d.toAny(data)
		}
		out[name] = x
	})
	return out, bad
}

// validRelData is relData's rule: null, a resource identifier or a list of them.
func validRelData(d *fastjson.Value) bool {
	if d == nil {
		return true
	}
	switch d.Type() {
	case fastjson.TypeNull:
		return true
	case fastjson.TypeObject:
		return validIdentifier(d)
	case fastjson.TypeArray:
		list, _ := d.Array()
		for _, e := range list {
			if e.Type() != fastjson.TypeObject || !validIdentifier(e) {
				return false
			}
		}
		return true
	}
	return false
}

// validIdentifier is toRef's rule: string type and id, not empty (the last of repeated keys counts, as in a map).
func validIdentifier(v *fastjson.Value) bool {
	o, _ := v.Object()
	tOK, idOK := false, false
	o.Visit(func(k []byte, e *fastjson.Value) {
		switch string(k) {
		case "type":
			tOK = e.Type() == fastjson.TypeString && len(e.GetStringBytes()) > 0
		case "id":
			idOK = e.Type() == fastjson.TypeString && len(e.GetStringBytes()) > 0
		}
	})
	return tOK && idOK
}

// toAny is the value encoding/json decodes into an any: nil, bool, float64, string, []any or map[string]any.
// bad is true for a number float64 cannot hold (encoding/json rejects it) or a key the reference path would
// decode differently.
func (d *decoder) toAny(v *fastjson.Value) (any, bool) {
	switch v.Type() {
	case fastjson.TypeNull:
		return nil, false
	case fastjson.TypeTrue:
		return true, false
	case fastjson.TypeFalse:
		return false, false
	case fastjson.TypeString:
		return string(v.GetStringBytes()), false
	case fastjson.TypeNumber:
		var buf [32]byte
		f, err := strconv.ParseFloat(string(v.MarshalTo(buf[:0])), 64)
		return f, err != nil
	case fastjson.TypeArray:
		list, _ := v.Array()
		out := make([]any, len(list))
		for i, e := range list {
			var bad bool
			if out[i], bad = d.toAny(e); bad {
				return nil, true
			}
		}
		return out, false
	case fastjson.TypeObject:
		o, _ := v.Object()
		if id, ok := d.identifier(o); ok {
			return id, false
		}
		out := make(map[string]any, o.Len())
		bad := false
		o.Visit(func(k []byte, e *fastjson.Value) {
			if bad {
				return
			}
			var x any
			if x, bad = d.toAny(e); !bad {
				out[d.intern(k)] = x
			}
		})
		return out, bad
	}
	return nil, true
}

// stringOrNull is encoding/json's rule for a string field: a string sets it, null leaves it, anything else fails.
func stringOrNull(v *fastjson.Value, old string) (string, bool) {
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes()), false
	case fastjson.TypeNull:
		return old, false
	}
	return old, true
}

// timeOrNull decodes a time as time.Time's UnmarshalJSON does (it reads the raw string: escapes are refused).
func timeOrNull(v *fastjson.Value) (*time.Time, bool) {
	var buf [64]byte
	raw := v.MarshalTo(buf[:0]) // before Type(): a string is still raw here
	if string(raw) == "null" {
		return nil, false
	}
	if len(raw) < 2 || raw[0] != '"' || bytes.IndexByte(raw, '\\') >= 0 {
		return nil, true
	}
	var t time.Time
	if err := t.UnmarshalJSON(raw); err != nil {
		return nil, true
	}
	return &t, false
}

// foldsTo reports whether key would match one of the names only case-insensitively (encoding/json does that for
// struct fields; the fast path leaves such input to the reference path).
func foldsTo(key string, names ...string) bool {
	for _, n := range names {
		if strings.EqualFold(key, n) {
			return true
		}
	}
	return false
}

// plainEscapes reports whether every \u escape in a valid JSON text is a non-surrogate or a proper surrogate pair:
// fastjson and encoding/json decode those the same way (they differ on lone surrogates).
func plainEscapes(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '\\')
		if i < 0 || i+1 >= len(b) {
			return true
		}
		if b[i+1] != 'u' {
			b = b[i+2:]
			continue
		}
		r, ok := hex4(b[i+2:])
		if !ok {
			return false
		}
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return false
		case r >= 0xd800 && r <= 0xdbff:
			if len(b) < i+12 || b[i+6] != '\\' || b[i+7] != 'u' {
				return false
			}
			lo, ok := hex4(b[i+8:])
			if !ok || lo < 0xdc00 || lo > 0xdfff {
				return false
			}
			b = b[i+12:]
		default:
			b = b[i+6:]
		}
	}
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// decoder is one parse's state, pooled: the parser, and resource identifiers already decoded.
type decoder struct {
	m *Mapping
	p fastjson.Parser
	// ids interns {type, id} maps of shared records (users, accounts, sources ... not embedded types, whose
	// records belong to one owner): most references of a page point to the same few records, and decoded values
	// are never mutated, so one map serves them all. Bounded; cleared when full.
	ids  map[string]map[string]any
	keys map[string]string // interned object keys
	key  []byte
	kvs  []keyValue // scratch of attributes
	// scratch: the resource being decoded is the record's own, whose attributes and relationships go to attrs and
	// rels; rec is the mapping state (its included map and out scratch). All are cleared by release.
	scratch     bool
	attrs, rels map[string]any
	rec         *record
}

// record is the decoder's mapping state for one record.
func (d *decoder) record() *record {
	if d.rec == nil {
		d.rec = newRecord(d.m)
		d.rec.included = map[string]resource{}
		d.rec.out = map[string]any{}
		d.rec.vm = &vm.VM{}
	}
	return d.rec
}

// release clears the scratch of one record: nothing of it is reachable from the result.
func (d *decoder) release() {
	clear(d.attrs)
	clear(d.rels)
	if d.rec != nil {
		clear(d.rec.included)
		clear(d.rec.out)
		clear(d.rec.vals)
		d.rec.depth = 0
	}
}

const maxInterned = 4096

// intern gives the string of an object key, the same string for the same key while it is interned (keys repeat:
// email, phone, ...). Bounded; cleared when full.
func (d *decoder) intern(k []byte) string {
	if s, ok := d.keys[string(k)]; ok {
		return s
	}
	if len(d.keys) >= maxInterned {
		clear(d.keys)
	}
	s := string(k)
	d.keys[s] = s
	return s
}

func (m *Mapping) decoder() *decoder {
	if d, ok := m.decoders.Get().(*decoder); ok {
		return d
	}
	return &decoder{m: m, ids: make(map[string]map[string]any), keys: make(map[string]string)}
}

// identifier gives the interned map of an object that is exactly {"type": string, "id": string} of a shared type.
func (d *decoder) identifier(o *fastjson.Object) (map[string]any, bool) {
	if o.Len() != 2 {
		return nil, false
	}
	var t, id []byte
	ok := true
	o.Visit(func(k []byte, e *fastjson.Value) {
		switch {
		case !ok:
		case string(k) == "type" && t == nil && e.Type() == fastjson.TypeString:
			t = e.GetStringBytes()
		case string(k) == "id" && id == nil && e.Type() == fastjson.TypeString:
			id = e.GetStringBytes()
		default:
			ok = false
		}
	})
	if !ok || t == nil || id == nil || bytes.IndexByte(t, 0) >= 0 {
		return nil, false
	}
	if ct, found := d.m.types[string(t)]; found && ct.spec.Embedded {
		return nil, false
	}
	d.key = append(append(append(d.key[:0], t...), 0), id...)
	if m, found := d.ids[string(d.key)]; found {
		return m, true
	}
	if len(d.ids) >= maxInterned {
		clear(d.ids)
	}
	m := map[string]any{"type": string(t), "id": string(id)}
	d.ids[string(d.key)] = m
	return m, true
}
