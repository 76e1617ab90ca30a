package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/orosync/orosync/events"
)

// File is one mapping version as stored on disk (YAML or JSON; schema contracts/mapping/mapping.schema.json).
type File struct {
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	// Tables are lookup tables for table(name, key) (status tables Oro → Mercato dictionary).
	Tables map[string]map[string]any `json:"tables,omitempty"`
	// Ignore lists Oro types acknowledged without a change, with the reason.
	Ignore map[string]string `json:"ignore,omitempty"`
	// Types maps each Oro type to a Mercato aggregate.
	Types map[string]TypeSpec `json:"types"`
	// CustomFields define, per key, the Mercato custom field every type's custom fields of that key become.
	CustomFields map[string]CustomFieldSpec `json:"customFields,omitempty"`
}

// TypeSpec maps one Oro type.
type TypeSpec struct {
	// Aggregate is the Mercato aggregate (events.Aggregate*); empty with Embedded.
	Aggregate string `json:"aggregate,omitempty"`
	// Embedded types (addresses) are mapped inside their owner through embed(ref), never on their own.
	Embedded bool `json:"embedded,omitempty"`
	// RequireUpdatedAt dead-letters a version without Oro's updatedAt.
	RequireUpdatedAt bool `json:"requireUpdatedAt,omitempty"`
	// Fields are evaluated in order; each may read the ones before it as out.<name>.
	Fields []FieldSpec `json:"fields"`
	// Custom keeps source fields (attributes.x / relationships.x) as custom fields under the given key.
	Custom map[string]string `json:"custom,omitempty"`
	// Dropped lists source fields deliberately not carried over, with the reason.
	Dropped map[string]string `json:"dropped,omitempty"`
}

// FieldSpec produces one payload field, from a source field through a converter, or from an expression.
type FieldSpec struct {
	To   string `json:"to"`
	From string `json:"from,omitempty"`
	As   string `json:"as,omitempty"`
	Expr string `json:"expr,omitempty"`
	// Field names the source field in dead letters for expressions and Required (default: From).
	Field string `json:"field,omitempty"`
	// Required, when set, dead-letters a record whose value is null or empty, with this message.
	Required string `json:"required,omitempty"`
}

// Mapping is a compiled mapping version.
type Mapping struct {
	File
	types map[string]*compiledType
	// includedWhole: some expression calls included(ref), so the fast path decodes included resources whole.
	includedWhole bool
	decoders      sync.Pool // *decoder
	extensions    map[string]string
}

// Extensions are the CloudEvents extension headers of every change this mapping produces (its version); shared,
// read only.
func (m *Mapping) Extensions() map[string]string { return m.extensions }

type compiledType struct {
	name   string
	spec   TypeSpec
	fields []compiledField
	custom []customField
	needs  needs // what the fast path decodes
	// outWhole: an expression reads out other than as out.x, so the map it sees is never reused.
	outWhole bool
	// embeds: an expression calls embed(ref), which maps an included record with its own type's entry.
	embeds bool
	// setters set the payload's fields of fields[i] (same order) and of the custom fields (last); nil for an
	// embedded type.
	setters []setter
}

type compiledField struct {
	spec    FieldSpec
	section string // attributes or relationships, for From
	name    string
	conv    converter
	prog    *vm.Program
	field   string
}

type customField struct{ section, name, key string }

// Parse reads a mapping version (YAML or JSON) strictly: unknown keys, unknown converters, aggregates or
// expressions that do not compile are errors.
func Parse(b []byte) (*Mapping, error) {
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	return Compile(f)
}

var aggregates = map[string]bool{events.AggregatePerson: true, events.AggregateCompany: true, events.AggregateDeal: true,
	events.AggregateInteraction: true, events.AggregateComment: true, events.AggregateUser: true}

// payloadTypes are the Go types fields map into, by aggregate; "" is an embedded type (an address).
var payloadTypes = map[string]reflect.Type{
	events.AggregatePerson: reflect.TypeFor[events.Person](), events.AggregateCompany: reflect.TypeFor[events.Company](),
	events.AggregateDeal: reflect.TypeFor[events.Deal](), events.AggregateInteraction: reflect.TypeFor[events.Interaction](),
	events.AggregateComment: reflect.TypeFor[events.Comment](), events.AggregateUser: reflect.TypeFor[events.User](),
	"": reflect.TypeFor[events.Address](),
}

// Compile checks and compiles a mapping.
func Compile(f File) (*Mapping, error) {
	if f.Version == "" || !events.ValidToken(f.Version) {
		return nil, fmt.Errorf("mapping: version %q must be a non-empty token of letters, digits, - and _", f.Version)
	}
	m := &Mapping{File: f, types: map[string]*compiledType{}}
	for name, spec := range f.Types {
		if spec.Embedded == (spec.Aggregate != "") {
			return nil, fmt.Errorf("mapping %s: type %s: exactly one of aggregate and embedded", f.Version, name)
		}
		if spec.Aggregate != "" && !aggregates[spec.Aggregate] {
			return nil, fmt.Errorf("mapping %s: type %s: unknown aggregate %q", f.Version, name, spec.Aggregate)
		}
		ct := &compiledType{name: name, spec: spec}
		payload := payloadTypes[spec.Aggregate]
		for i, fs := range spec.Fields {
			where := fmt.Sprintf("mapping %s: %s.fields[%d] (%s)", f.Version, name, i, fs.To)
			if fs.To == "" || (fs.From == "") == (fs.Expr == "") {
				return nil, fmt.Errorf("%s: needs to and exactly one of from and expr", where)
			}
			if _, ok := fieldsOf(payload)[fs.To]; !ok {
				return nil, fmt.Errorf("%s: %s has no field %q", where, payload.Name(), fs.To)
			}
			cf := compiledField{spec: fs, field: fs.Field}
			if fs.From != "" {
				sec, n, ok := strings.Cut(fs.From, ".")
				if !ok || (sec != "attributes" && sec != "relationships") {
					return nil, fmt.Errorf("%s: from %q is not attributes.<name> or relationships.<name>", where, fs.From)
				}
				cf.section, cf.name = sec, n
				conv, ok := converters[orDefault(fs.As, "raw")]
				if !ok {
					return nil, fmt.Errorf("%s: unknown converter %q", where, fs.As)
				}
				cf.conv = conv
				if cf.field == "" {
					cf.field = fs.From
				}
			} else {
				prog, err := expr.Compile(fs.Expr, m.exprOptions()...)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", where, err)
				}
				if u := exprUses(fs.Expr); u.badCall != "" {
					return nil, fmt.Errorf("%s: %s(ref) takes exactly one argument", where, u.badCall)
				}
				cf.prog = prog
				if cf.field == "" {
					cf.field = fs.To
				}
			}
			ct.fields = append(ct.fields, cf)
		}
		for src, key := range spec.Custom {
			sec, n, ok := strings.Cut(src, ".")
			if !ok || (sec != "attributes" && sec != "relationships") || key == "" {
				return nil, fmt.Errorf("mapping %s: %s.custom %q: want attributes.<name> or relationships.<name> → key", f.Version, name, src)
			}
			ct.custom = append(ct.custom, customField{sec, n, key})
		}
		sort.Slice(ct.custom, func(i, j int) bool { return ct.custom[i].key < ct.custom[j].key })
		ct.setters = compileSetters(ct, payload)
		m.types[name] = ct
	}
	if err := m.checkCustomFields(); err != nil {
		return nil, err
	}
	m.compileNeeds()
	m.extensions = map[string]string{events.HeaderMappingVersion: m.Version}
	return m, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// env is what an expression sees: attr, rel, out, id, type, embed and included, plus the functions in
// exprOptions. A struct, not a map: one allocation per evaluation, and fields load by index.
type env struct {
	Attr map[string]any `expr:"attr"`
	Rel  map[string]any `expr:"rel"`
	Out  map[string]any `expr:"out"`
	ID   string         `expr:"id"`
	Type string         `expr:"type"`
	// Embed and Included take one argument (checked when the mapping compiles); func(any) any is a signature
	// expr calls without reflection or an argument slice, so errors travel as panics, which the VM turns back
	// into errors.
	Embed    func(any) any `expr:"embed"`
	Included func(any) any `expr:"included"`
	// Fetch is what member reads of maps compile to (exprfetch.go); always fetch.
	Fetch func(from, key any) any `expr:"fetch__"`
}

func (m *Mapping) exprOptions() []expr.Option {
	return append(m.exprFunctions(), expr.Patch(&fetchPatcher{}))
}

// exprFunctions is the env and the functions of expressions, as written (exprOptions adds the rewrites of
// exprfetch.go).
func (m *Mapping) exprFunctions() []expr.Option {
	opts := []expr.Option{expr.Env(env{})}
	for name, c := range converters {
		opts = append(opts, expr.Function(name, func(params ...any) (any, error) {
			if len(params) != 1 {
				return nil, fmt.Errorf("%s takes one argument", name)
			}
			v, rule, detail := c(params[0])
			if rule != "" {
				return nil, &ruleError{rule: rule, detail: detail}
			}
			return v, nil
		}))
	}
	opts = append(opts,
		expr.Function("related", func(params ...any) (any, error) {
			if len(params) != 2 {
				return nil, errors.New("related(role, refOrRefs)")
			}
			list, rule, detail := converters["refs"](params[1])
			if rule != "" {
				return nil, &ruleError{rule: rule, detail: detail}
			}
			out := make([]any, 0, len(list.([]any)))
			for _, r := range list.([]any) {
				m := r.(map[string]any)
				out = append(out, map[string]any{"role": params[0], "type": m["type"], "id": m["id"]})
			}
			return out, nil
		}),
		expr.Function("with", func(params ...any) (any, error) {
			if len(params) != 3 {
				return nil, errors.New("with(object, key, value)")
			}
			obj, ok := params[0].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("with: %T is not an object", params[0])
			}
			out := make(map[string]any, len(obj)+1)
			maps.Copy(out, obj)
			out[fmt.Sprint(params[1])] = params[2]
			return out, nil
		}),
		expr.Function("profileUrl", func(params ...any) (any, error) {
			if len(params) != 2 {
				return nil, errors.New("profileUrl(value, base)")
			}
			base, ok := params[1].(string)
			if !ok || !validWebURL(base+"x") {
				return nil, fmt.Errorf("profileUrl: base %v is not the start of an http(s) URL", params[1])
			}
			return profileURL(params[0], base), nil
		}),
		expr.Function("table", func(params ...any) (any, error) {
			if len(params) != 2 {
				return nil, errors.New("table(name, key)")
			}
			t, ok := m.Tables[fmt.Sprint(params[0])]
			if !ok {
				return nil, fmt.Errorf("no table %v", params[0])
			}
			if params[1] == nil {
				return nil, nil
			}
			return t[fmt.Sprint(params[1])], nil
		}),
	)
	return opts
}

// record is the per-evaluation state reachable from functions that need it (included, embed).
type record struct {
	m        *Mapping
	included map[string]resource
	depth    int
	// out and vals, when set, are scratch for the record's own fields: the out map expressions read, and the
	// values by field index, which set the payload.
	out  map[string]any
	vals []any
	// vm, when set, runs the record's own expressions (else one from vmPool each time). Not the nested ones
	// (embed runs inside a run, and a VM holds the state of the run in progress).
	vm *vm.VM
	// embedFn and includedFn are embed and includedAttrs as expressions call them, made once per record.
	embedFn, includedFn func(any) any
}

func newRecord(m *Mapping) *record {
	rec := &record{m: m}
	rec.embedFn = func(ref any) any { return must(rec.embed(ref)) }
	rec.includedFn = func(ref any) any { return must(rec.includedAttrs(ref)) }
	return rec
}

// must is the result of an expression's call, panicking with its error: the VM recovers it into the evaluation's
// error, as it does for functions that return one.
func must[T any](v T, err error) any {
	if err != nil {
		panic(err)
	}
	return v
}

type ruleError struct{ rule, detail string }

func (e *ruleError) Error() string { return e.detail }

// resource is a decoded JSON:API resource object.
type resource struct {
	Type          string         `json:"type"`
	ID            string         `json:"id"`
	Attributes    map[string]any `json:"attributes"`
	Relationships map[string]struct {
		Data any `json:"data"`
	} `json:"relationships"`
	// rels, when set (by the fast path), are the relationships' data already checked, in place of Relationships.
	rels map[string]any
}

// Result of mapping one record: a change, or nothing for an ignored or embedded type.
type Result struct {
	Change  *events.Change
	Skipped string // why no change was produced
}

// ErrNoMapping says the mapping has no entry for the type.
var ErrNoMapping = errors.New("no mapping for this type")

// Map turns one observed Oro record version into a change. Bad input gives a *FieldError.
func (m *Mapping) Map(raw events.RawRecord) (Result, error) {
	ref := raw.RecordRef
	ferr := func(field, rule, format string, a ...any) error {
		return &FieldError{Record: ref, Field: field, Rule: rule, Detail: fmt.Sprintf(format, a...)}
	}
	if why, ok := m.Ignore[raw.Type]; ok {
		return Result{Skipped: why}, nil
	}
	ct, ok := m.types[raw.Type]
	if !ok {
		return Result{}, ferr("type", "known-type", "%v: %q (mapping %s)", ErrNoMapping, raw.Type, m.Version)
	}
	if ct.spec.Embedded {
		return Result{Skipped: raw.Type + " is mapped inside the record that includes it"}, nil
	}
	if !utf8.Valid(raw.Resource) {
		return Result{}, ferr("resource", "utf8", "not valid UTF-8")
	}
	res, err := decodeResource(raw.Resource)
	if err != nil {
		return Result{}, ferr("resource", "json", "not a JSON:API resource object: %v", err)
	}
	if res.Type != raw.Type || res.ID != raw.ID {
		return Result{}, ferr("resource", "identity", "resource is %s/%s, subject says %s/%s", res.Type, res.ID, raw.Type, raw.ID)
	}
	if ct.spec.RequireUpdatedAt && raw.UpdatedAt == nil {
		return Result{}, ferr("attributes.updatedAt", "required", "%s always carry updatedAt; this one has none", raw.Type)
	}
	rec := newRecord(m)
	if len(raw.Included) > 0 {
		rec.included = make(map[string]resource, len(raw.Included))
		for _, inc := range raw.Included {
			r, err := decodeResource(inc)
			if err != nil {
				return Result{}, ferr("included", "json", "an included resource is not a JSON:API resource object: %v", err)
			}
			rec.included[r.Type+"/"+r.ID] = r
		}
	}
	return m.mapResource(ref, raw.Version(), ct, rec, res)
}

// mapResource evaluates a decoded resource into its change.
func (m *Mapping) mapResource(ref events.RecordRef, version events.SourceVersion, ct *compiledType, rec *record, res resource) (Result, error) {
	out, err := rec.evaluate(ct, res)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.Record = ref
		}
		return Result{}, err
	}
	c := events.Change{Tenant: ref.Tenant, Op: events.OpUpsert, Aggregate: ct.spec.Aggregate, Source: ref,
		SourceVersion: version, MappingVersion: m.Version}
	set := func() error { return setPayload(&c, out) }
	if ct.setters != nil {
		set = func() error { return setFields(&c, ct, rec.vals) }
	}
	if err := set(); err != nil {
		return Result{}, &FieldError{Record: ref, Field: "mapping", Rule: "payload",
			Detail: fmt.Sprintf("mapping %s produces a %s the change cannot carry: %v", m.Version, ct.spec.Aggregate, err)}
	}
	return Result{Change: &c}, nil
}

// MapTombstone turns a deleted Oro record into a delete of its aggregate.
func (m *Mapping) MapTombstone(t events.Tombstone) (Result, error) {
	if why, ok := m.Ignore[t.Type]; ok {
		return Result{Skipped: why}, nil
	}
	ct, ok := m.types[t.Type]
	if !ok {
		return Result{}, &FieldError{Record: t.RecordRef, Field: "type", Rule: "known-type",
			Detail: fmt.Sprintf("%v: %q (mapping %s)", ErrNoMapping, t.Type, m.Version)}
	}
	if ct.spec.Embedded {
		return Result{Skipped: t.Type + " is mapped inside the record that includes it"}, nil
	}
	c := events.Change{Tenant: t.Tenant, Op: events.OpDelete, Aggregate: ct.spec.Aggregate, Source: t.RecordRef,
		MappingVersion: m.Version}
	if t.LastSeen != nil {
		c.SourceVersion = *t.LastSeen
	}
	return Result{Change: &c}, nil
}

func decodeResource(b []byte) (resource, error) {
	var r resource
	if err := json.Unmarshal(b, &r); err != nil {
		return r, err
	}
	if r.Type == "" || r.ID == "" {
		return r, errors.New("type and id are required")
	}
	return r, nil
}

// relData checks a relationship's data: nil, a {type,id} map or a list of them.
func relData(data any) (any, error) {
	switch d := data.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		if _, err := toRef(d); err != nil {
			return nil, err
		}
		return d, nil
	case []any:
		for _, e := range d {
			if _, err := toRef(e); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("data is %T, want null, an object or a list", data)
}

const maxDepth = 3

// vmPool reuses expression VMs (their stacks) across evaluations.
var vmPool = sync.Pool{New: func() any { return &vm.VM{} }}

func (rec *record) evaluate(ct *compiledType, res resource) (map[string]any, error) {
	rels := res.rels
	if rels == nil {
		rels = make(map[string]any, len(res.Relationships))
		for name, raw := range res.Relationships {
			d, err := relData(raw.Data)
			if err != nil {
				return nil, &FieldError{Field: "relationships." + name, Rule: "relationship", Detail: err.Error()}
			}
			rels[name] = d
		}
	}
	attrs := res.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	// The record's own fields (depth 0) also go to vals, by index, for the setters.
	top := rec.depth == 0 && ct.setters != nil
	var out map[string]any
	if top {
		if rec.out != nil && !ct.outWhole {
			out = rec.out
		}
		if n := len(ct.fields) + 1; cap(rec.vals) < n {
			rec.vals = make([]any, n)
		} else {
			rec.vals = rec.vals[:n]
		}
	}
	if out == nil {
		out = make(map[string]any, len(ct.fields)+1)
	}
	vars := &env{Attr: attrs, Rel: rels, Out: out, ID: res.ID, Type: res.Type, Embed: rec.embedFn, Included: rec.includedFn,
		Fetch: fetch}
	for i, f := range ct.fields {
		var v any
		if f.prog == nil {
			var src any
			if f.section == "attributes" {
				src = attrs[f.name]
			} else {
				src = rels[f.name]
			}
			var rule, detail string
			v, rule, detail = f.conv(src)
			if rule != "" {
				return nil, &FieldError{Field: f.field, Rule: rule, Detail: detail}
			}
		} else {
			machine := rec.vm
			if machine == nil || rec.depth > 0 {
				machine = vmPool.Get().(*vm.VM)
			}
			var err error
			v, err = machine.Run(f.prog, vars)
			if machine != rec.vm {
				vmPool.Put(machine)
			}
			if err != nil {
				var re *ruleError
				var fe *FieldError
				switch {
				case errors.As(err, &fe):
					return nil, fe
				case errors.As(err, &re):
					return nil, &FieldError{Field: f.field, Rule: re.rule, Detail: re.detail}
				}
				return nil, &FieldError{Field: f.field, Rule: "expr", Detail: err.Error()}
			}
		}
		if f.spec.Required != "" && empty(v) {
			return nil, &FieldError{Field: f.field, Rule: "required", Detail: f.spec.Required}
		}
		out[f.spec.To] = v
		if top {
			rec.vals[i] = v
		}
	}
	if top {
		rec.vals[len(ct.fields)] = nil
	}
	if cf := customValues(ct, out, attrs, rels); cf != nil {
		out["customFields"] = cf
		if top {
			rec.vals[len(ct.fields)] = cf
		}
	} else {
		delete(out, "customFields")
	}
	return out, nil
}

// customValues are the record's custom fields: those a customFields field computed (a value kept as a custom field
// only when no column takes it), then the custom section's source fields; null values and empty lists are left
// out, and nil is returned when none is left.
func customValues(ct *compiledType, out, attrs, rels map[string]any) map[string]any {
	computed, _ := out["customFields"].(map[string]any)
	if len(ct.custom) == 0 && len(computed) == 0 {
		return nil
	}
	cf := make(map[string]any, len(computed)+len(ct.custom))
	add := func(key string, v any) {
		if l, ok := v.([]any); v != nil && (!ok || len(l) > 0) {
			cf[key] = v
		}
	}
	for k, v := range computed {
		add(k, v)
	}
	for _, c := range ct.custom {
		if c.section == "attributes" {
			add(c.key, attrs[c.name])
		} else {
			add(c.key, rels[c.name])
		}
	}
	if len(cf) == 0 {
		return nil
	}
	return cf
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case *string:
		return x == nil || *x == ""
	}
	return false
}

// embed maps an included resource with its (embedded) type's mapping; nil when it was not included.
func (rec *record) embed(ref any) (any, error) {
	r, err := toRef(ref)
	if err != nil {
		return nil, err
	}
	res, ok := rec.included[r.Type+"/"+r.ID]
	if !ok {
		return map[string]any{"source": map[string]any{"type": r.Type, "id": r.ID}}, nil
	}
	ct, ok := rec.m.types[r.Type]
	if !ok {
		return nil, fmt.Errorf("embed: no mapping for included type %q", r.Type)
	}
	if rec.depth >= maxDepth {
		return nil, errors.New("embed: nested too deep")
	}
	rec.depth++
	defer func() { rec.depth-- }()
	out, err := rec.evaluate(ct, res)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.Field = "included." + r.Type + "." + r.ID + "." + fe.Field
		}
		return nil, err
	}
	out["source"] = map[string]any{"type": r.Type, "id": r.ID}
	return out, nil
}

// includedAttrs gives the attributes of an included resource, nil when it was not included.
func (rec *record) includedAttrs(ref any) (map[string]any, error) {
	r, err := toRef(ref)
	if err != nil {
		return nil, err
	}
	res, ok := rec.included[r.Type+"/"+r.ID]
	if !ok {
		return nil, nil
	}
	return res.Attributes, nil
}

// refMap is {type, id} of a resource identifier: v itself when it is exactly that (decoded values are never
// mutated, so sharing is safe and saves a map per reference).
func refMap(v any, r events.OroRef) map[string]any {
	if isRefMap(v, r) {
		return v.(map[string]any)
	}
	return map[string]any{"type": r.Type, "id": r.ID}
}

func isRefMap(v any, r events.OroRef) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 2 && m["type"] == r.Type && m["id"] == r.ID
}

func toRef(v any) (events.OroRef, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return events.OroRef{}, fmt.Errorf("a resource identifier must be an object, got %T", v)
	}
	t, _ := m["type"].(string)
	id, _ := m["id"].(string)
	if t == "" || id == "" {
		return events.OroRef{}, errors.New("a resource identifier needs string type and id")
	}
	return events.OroRef{Type: t, ID: id}, nil
}

// setPayload sets the aggregate's typed payload from the evaluated fields, refusing fields it does not have.
func setPayload(c *events.Change, out map[string]any) error {
	switch c.Aggregate {
	case events.AggregatePerson:
		c.Person = &events.Person{}
		return assign(c.Person, out)
	case events.AggregateCompany:
		c.Company = &events.Company{}
		return assign(c.Company, out)
	case events.AggregateDeal:
		c.Deal = &events.Deal{}
		return assign(c.Deal, out)
	case events.AggregateInteraction:
		c.Interaction = &events.Interaction{}
		return assign(c.Interaction, out)
	case events.AggregateComment:
		c.Comment = &events.Comment{}
		return assign(c.Comment, out)
	case events.AggregateUser:
		c.User = &events.User{}
		return assign(c.User, out)
	}
	return fmt.Errorf("unknown aggregate %q", c.Aggregate)
}

// A converter returns the value, or a rule and detail when the input breaks it.
type converter func(v any) (out any, rule, detail string)

var converters map[string]converter

func init() {
	converters = map[string]converter{
		"raw":      func(v any) (any, string, string) { return v, "", "" },
		"text":     textOf(maxText),
		"longtext": textOf(maxLongText),
		"email": func(v any) (any, string, string) {
			s, rule, detail := emailAsGiven(v)
			if s == nil {
				return s, rule, detail
			}
			return strings.ToLower(s.(string)), "", ""
		},
		// emailAsGiven keeps the address's case, as Mercato's company commands do (only people's are lower-cased).
		"emailAsGiven": emailAsGiven,
		"date": func(v any) (any, string, string) {
			s, rule, detail := textOf(maxText)(v)
			if rule != "" || s == nil {
				return s, rule, detail
			}
			str := s.(string)
			if len(str) >= 10 {
				if _, err := time.Parse("2006-01-02", str[:10]); err == nil {
					return str[:10], "", ""
				}
			}
			return nil, "date", fmt.Sprintf("%q is not a date (YYYY-MM-DD)", abbreviate(str))
		},
		"datetime": func(v any) (any, string, string) {
			s, rule, detail := textOf(maxText)(v)
			if rule != "" || s == nil {
				return s, rule, detail
			}
			t, err := time.Parse(time.RFC3339Nano, s.(string))
			if err != nil {
				return nil, "datetime", fmt.Sprintf("%q is not an RFC 3339 time", abbreviate(s.(string)))
			}
			return t.UTC().Format(time.RFC3339), "", ""
		},
		"int": func(v any) (any, string, string) {
			f, rule, detail := number(v)
			if rule != "" || f == nil {
				return nil, rule, detail
			}
			if *f != math.Trunc(*f) || math.Abs(*f) > 1<<31 {
				return nil, "int", fmt.Sprintf("%v is not a 32-bit integer", *f)
			}
			return int(*f), "", ""
		},
		"percent": func(v any) (any, string, string) {
			f, rule, detail := number(v)
			if rule != "" || f == nil {
				return nil, rule, detail
			}
			if *f < 0 || *f > 1 {
				return nil, "fraction", fmt.Sprintf("%v is not a fraction between 0 and 1", *f)
			}
			return int(math.Round(*f * 100)), "", ""
		},
		"decimal": func(v any) (any, string, string) {
			switch x := v.(type) {
			case nil:
				return nil, "", ""
			case float64:
				return strconv.FormatFloat(x, 'f', -1, 64), "", ""
			case string:
				x = strings.TrimSpace(x)
				if x == "" {
					return nil, "", ""
				}
				if _, err := strconv.ParseFloat(x, 64); err != nil || len(x) > 40 {
					return nil, "decimal", fmt.Sprintf("%q is not a decimal number", abbreviate(x))
				}
				return x, "", ""
			}
			return nil, "decimal", fmt.Sprintf("want a decimal, got %T", v)
		},
		"bool": func(v any) (any, string, string) {
			switch v.(type) {
			case nil, bool:
				return v, "", ""
			}
			return nil, "bool", fmt.Sprintf("want true, false or null, got %T", v)
		},
		"ref": func(v any) (any, string, string) {
			if v == nil {
				return nil, "", ""
			}
			r, err := toRef(v)
			if err != nil {
				return nil, "relationship", err.Error()
			}
			return refMap(v, r), "", ""
		},
		"refs": func(v any) (any, string, string) {
			if v == nil {
				return []any{}, "", ""
			}
			list, ok := v.([]any)
			if !ok {
				if r, err := toRef(v); err == nil {
					return []any{refMap(v, r)}, "", ""
				}
				return nil, "relationship", fmt.Sprintf("want a list of resource identifiers, got %T", v)
			}
			same := true
			for _, e := range list {
				r, err := toRef(e)
				if err != nil {
					return nil, "relationship", err.Error()
				}
				same = same && isRefMap(e, r)
			}
			if same {
				return list, "", "" // already exactly {type, id} each: values are never mutated, so share them
			}
			out := make([]any, 0, len(list))
			for _, e := range list {
				r, _ := toRef(e)
				out = append(out, refMap(e, r))
			}
			return out, "", ""
		},
		"id": func(v any) (any, string, string) {
			if v == nil {
				return nil, "", ""
			}
			r, err := toRef(v)
			if err != nil {
				return nil, "relationship", err.Error()
			}
			return r.ID, "", ""
		},
	}
}

// Longest body-like text (descriptions, notes, email bodies) accepted.
const maxLongText = 100000

// emailAsGiven is a trimmed email address, its case kept.
func emailAsGiven(v any) (any, string, string) {
	s, rule, detail := textOf(maxText)(v)
	if rule != "" || s == nil {
		return s, rule, detail
	}
	if str := s.(string); !validAddress(str) {
		return nil, "email", fmt.Sprintf("%q is not an email address", str)
	}
	return s, "", ""
}

func textOf(limit int) converter {
	return func(v any) (any, string, string) {
		if v == nil {
			return nil, "", ""
		}
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			return nil, "string", fmt.Sprintf("want a string or null, got %s", abbreviate(string(b)))
		}
		s = strings.TrimSpace(s)
		if !utf8.ValidString(s) {
			return nil, "utf8", "not valid UTF-8"
		}
		if strings.IndexByte(s, 0) >= 0 {
			return nil, "nul", "contains a NUL character (\\u0000), which PostgreSQL text cannot hold"
		}
		if len(s) > limit { // no more runes than bytes: most strings need no count
			if n := utf8.RuneCountInString(s); n > limit {
				return nil, "max-length", fmt.Sprintf("%d characters, at most %d accepted", n, limit)
			}
		}
		if s == "" {
			return nil, "", ""
		}
		return s, "", ""
	}
}

func number(v any) (*float64, string, string) {
	switch x := v.(type) {
	case nil:
		return nil, "", ""
	case float64:
		return &x, "", ""
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return nil, "number", fmt.Sprintf("%q is not a number", abbreviate(x))
		}
		return &f, "", ""
	}
	return nil, "number", fmt.Sprintf("want a number, got %T", v)
}

// referenced lists the attributes and relationships an expression reads (attr.x, rel.x).
func referenced(src string) (attrs, rels []string) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, nil
	}
	v := &refVisitor{}
	ast.Walk(&tree.Node, v)
	return v.attrs, v.rels
}

type refVisitor struct{ attrs, rels, outs []string }

// outsRead are the out.x fields an expression reads.
func outsRead(src string) []string {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	v := &refVisitor{}
	ast.Walk(&tree.Node, v)
	return v.outs
}

func (v *refVisitor) Visit(n *ast.Node) {
	m, ok := (*n).(*ast.MemberNode)
	if !ok {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok {
		return
	}
	p, ok := m.Property.(*ast.StringNode)
	if !ok {
		return
	}
	switch id.Value {
	case "attr":
		v.attrs = append(v.attrs, p.Value)
	case "rel":
		v.rels = append(v.rels, p.Value)
	case "out":
		v.outs = append(v.outs, p.Value)
	}
}
