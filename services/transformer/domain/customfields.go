package domain

import (
	"fmt"
	"slices"
	"sort"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/orosync/orosync/events"
)

// CustomFieldSpec declares the Mercato definition of one custom field key (custom_field_defs): its kind decides
// the value column Mercato reads (text, multiline, integer, float, boolean, select, currency, phone), the rest is
// what its forms, list columns and filters show.
type CustomFieldSpec struct {
	Kind        string   `json:"kind"`
	Label       string   `json:"label,omitempty"`
	Description string   `json:"description,omitempty"`
	Options     []string `json:"options,omitempty"`
	Multi       bool     `json:"multi,omitempty"`
	Filterable  bool     `json:"filterable,omitempty"`
	Hidden      bool     `json:"hidden,omitempty"`
	// Also names Oro types whose records get the key from the writer rather than from the mapping (an
	// interaction's direction).
	Also []string `json:"also,omitempty"`
}

// customKeys are the custom field keys a type's records may carry, each with the source fields that feed it
// (the custom section's, the attr.x / rel.x a customFields expression reads for it, and the also types').
func (ct *compiledType) customKeys(specs map[string]CustomFieldSpec) map[string][]string {
	keys := map[string][]string{}
	for _, c := range ct.custom {
		keys[c.key] = append(keys[c.key], c.section+"."+c.name)
	}
	for _, f := range ct.fields {
		if f.spec.To != "customFields" || f.spec.Expr == "" {
			continue
		}
		for k, srcs := range computedCustomKeys(f.spec.Expr) {
			keys[k] = append(keys[k], srcs...)
		}
	}
	for k, s := range specs {
		if slices.Contains(s.Also, ct.name) {
			keys[k] = append(keys[k], "")
		}
	}
	return keys
}

// computedCustomKeys are the string keys of the map literals of a customFields expression, each with the source
// fields its value reads.
func computedCustomKeys(src string) map[string][]string {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	v := &mapKeyVisitor{keys: map[string][]string{}}
	ast.Walk(&tree.Node, v)
	return v.keys
}

type mapKeyVisitor struct{ keys map[string][]string }

func (v *mapKeyVisitor) Visit(n *ast.Node) {
	p, ok := (*n).(*ast.PairNode)
	if !ok {
		return
	}
	k, ok := p.Key.(*ast.StringNode)
	if !ok {
		return
	}
	r := &refVisitor{}
	ast.Walk(&p.Value, r)
	srcs := v.keys[k.Value]
	for _, a := range r.attrs {
		srcs = append(srcs, "attributes."+a)
	}
	for _, a := range r.rels {
		srcs = append(srcs, "relationships."+a)
	}
	v.keys[k.Value] = srcs
}

// checkCustomFields refuses a mapping whose types carry a custom field key without a definition, or a definition
// Mercato could not take or nothing uses.
func (m *Mapping) checkCustomFields() error {
	used := map[string]bool{}
	for _, name := range sortedTypes(m.types) {
		ct := m.types[name]
		entity := events.CustomFieldEntity(ct.spec.Aggregate)
		for k := range ct.customKeys(m.CustomFields) {
			if entity == "" {
				continue // addresses and directory entries: no Mercato custom fields
			}
			if _, ok := m.CustomFields[k]; !ok {
				return fmt.Errorf("mapping %s: type %s: custom field %q has no definition under customFields (its kind)", m.Version, name, k)
			}
			used[k] = true
		}
	}
	for k, s := range m.CustomFields {
		where := fmt.Sprintf("mapping %s: customFields.%s", m.Version, k)
		switch {
		case !events.IsCustomFieldKind(s.Kind):
			return fmt.Errorf("%s: kind %q is none of text, multiline, integer, float, boolean, select, currency, phone", where, s.Kind)
		case len(s.Options) > 0 && s.Kind != "select":
			return fmt.Errorf("%s: options are for kind select", where)
		case !used[k]:
			return fmt.Errorf("%s: no type with Mercato custom fields carries it", where)
		}
		for _, t := range s.Also {
			if ct, ok := m.types[t]; !ok || events.CustomFieldEntity(ct.spec.Aggregate) == "" {
				return fmt.Errorf("%s: also %q is no type with Mercato custom fields", where, t)
			}
		}
	}
	return nil
}

func sortedTypes(types map[string]*compiledType) []string {
	names := make([]string, 0, len(types))
	for n := range types {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CustomFieldDefs are the Mercato definitions of every custom field the mapping writes, one per Mercato entity
// and key, sorted.
func (m *Mapping) CustomFieldDefs() []events.CustomFieldDef {
	seen := map[string]bool{}
	var out []events.CustomFieldDef
	for _, name := range sortedTypes(m.types) {
		ct := m.types[name]
		entity := events.CustomFieldEntity(ct.spec.Aggregate)
		if entity == "" {
			continue
		}
		for k := range ct.customKeys(m.CustomFields) {
			if seen[entity+"/"+k] {
				continue
			}
			seen[entity+"/"+k] = true
			s := m.CustomFields[k]
			out = append(out, events.CustomFieldDef{Entity: entity, Key: k, Kind: s.Kind, Label: s.Label,
				Description: s.Description, Options: s.Options, Multi: s.Multi, Filterable: s.Filterable, Hidden: s.Hidden})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Entity != out[j].Entity {
			return out[i].Entity < out[j].Entity
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// CustomFieldDefOf is the definition of key on an Oro type's records (false: none, e.g. an address's).
func (m *Mapping) CustomFieldDefOf(oroType, key string) (events.CustomFieldDef, bool) {
	ct, ok := m.types[oroType]
	if !ok {
		return events.CustomFieldDef{}, false
	}
	entity := events.CustomFieldEntity(ct.spec.Aggregate)
	s, ok := m.CustomFields[key]
	if entity == "" || !ok {
		return events.CustomFieldDef{}, false
	}
	return events.CustomFieldDef{Entity: entity, Key: key, Kind: s.Kind, Label: s.Label, Description: s.Description,
		Options: s.Options, Multi: s.Multi, Filterable: s.Filterable, Hidden: s.Hidden}, true
}
