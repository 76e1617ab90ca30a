package domain

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/orosync/orosync/events"
)

// assign sets the fields of the struct dst points to from an evaluated map, by JSON name (embedded structs
// included), refusing names the struct does not have and values of the wrong shape. It does what a JSON round
// trip would, without encoding: this is the transformer's hot path.
func assign(dst any, src map[string]any) error {
	if err := assignStruct(reflect.ValueOf(dst).Elem(), src); err != nil {
		return err
	}
	return nil
}

// assignError is built from the failing value up, so the path (addresses[0].city) costs nothing on success.
type assignError struct{ path, msg string }

func (e *assignError) Error() string { return e.path + ": " + e.msg }

func (e *assignError) under(prefix string) *assignError {
	e.path = prefix + e.path
	return e
}

type fieldInfo struct{ index []int }

var structFields sync.Map // reflect.Type → map[string]fieldInfo

func fieldsOf(t reflect.Type) map[string]fieldInfo {
	if m, ok := structFields.Load(t); ok {
		return m.(map[string]fieldInfo)
	}
	m := map[string]fieldInfo{}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			idx := append(append([]int(nil), prefix...), i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				if _, tagged := f.Tag.Lookup("json"); !tagged {
					walk(f.Type, idx)
					continue
				}
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			if name != "-" && f.IsExported() {
				m[name] = fieldInfo{index: idx}
			}
		}
	}
	walk(t, nil)
	structFields.Store(t, m)
	return m
}

func assignStruct(v reflect.Value, src map[string]any) *assignError {
	fields := fieldsOf(v.Type())
	for name, val := range src {
		f, ok := fields[name]
		if !ok {
			return &assignError{path: name, msg: v.Type().Name() + " has no such field"}
		}
		if err := assignValue(v.FieldByIndex(f.index), val); err != nil {
			return err.under(name)
		}
	}
	return nil
}

func assignValue(v reflect.Value, val any) *assignError {
	if val == nil {
		v.SetZero()
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := assignValue(p.Elem(), val); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Interface:
		v.Set(reflect.ValueOf(val))
		return nil
	case reflect.String:
		if s, ok := val.(string); ok {
			v.SetString(s)
			return nil
		}
	case reflect.Bool:
		if b, ok := val.(bool); ok {
			v.SetBool(b)
			return nil
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		switch n := val.(type) {
		case int:
			v.SetInt(int64(n))
			return nil
		case int64:
			v.SetInt(n)
			return nil
		case float64:
			if n == float64(int64(n)) {
				v.SetInt(int64(n))
				return nil
			}
		}
	case reflect.Slice:
		list, ok := val.([]any)
		if !ok {
			if sl, isStr := val.([]string); isStr {
				list = make([]any, len(sl))
				for i, s := range sl {
					list[i] = s
				}
				ok = true
			}
		}
		if ok {
			out := reflect.MakeSlice(v.Type(), len(list), len(list))
			for i, e := range list {
				if err := assignValue(out.Index(i), e); err != nil {
					return err.under("[" + strconv.Itoa(i) + "]")
				}
			}
			v.Set(out)
			return nil
		}
	case reflect.Map:
		if m, ok := val.(map[string]any); ok && v.Type().Key().Kind() == reflect.String && v.Type().Elem().Kind() == reflect.Interface {
			v.Set(reflect.ValueOf(m))
			return nil
		}
	case reflect.Struct:
		if m, ok := val.(map[string]any); ok {
			if err := assignStruct(v, m); err != nil {
				return err.under(".")
			}
			return nil
		}
	}
	return &assignError{msg: fmt.Sprintf("cannot use %T as %s", val, v.Type())}
}

// setter sets one payload field from the value of a mapping field; index nil skips it (a later field sets the
// same name, and the last one wins, as in the evaluated map).
type setter struct {
	name  string
	index []int
}

// compileSetters resolves each field's payload field once, so the record's own payload is set by index instead of
// by name through its evaluated map; nil (use the map) for an embedded type or a payload without customFields.
func compileSetters(ct *compiledType, payload reflect.Type) []setter {
	if ct.spec.Aggregate == "" {
		return nil
	}
	fields := fieldsOf(payload)
	custom, ok := fields["customFields"]
	if !ok && len(ct.custom) > 0 {
		return nil
	}
	setters := make([]setter, len(ct.fields)+1)
	last := map[string]int{}
	for i, f := range ct.fields {
		last[f.spec.To] = i
	}
	computed := false // a field computes custom fields: they are set with the custom section's (customValues)
	for i, f := range ct.fields {
		if f.spec.To == "customFields" {
			computed = true
		} else if last[f.spec.To] == i {
			setters[i] = setter{name: f.spec.To, index: fields[f.spec.To].index}
		}
	}
	if len(ct.custom) > 0 || computed {
		setters[len(ct.fields)] = setter{name: "customFields", index: custom.index}
	}
	return setters
}

// setFields sets the change's payload from vals (by field index, custom fields last) through ct's setters.
func setFields(c *events.Change, ct *compiledType, vals []any) error {
	var p reflect.Value
	switch c.Aggregate {
	case events.AggregatePerson:
		c.Person = &events.Person{}
		p = reflect.ValueOf(c.Person)
	case events.AggregateCompany:
		c.Company = &events.Company{}
		p = reflect.ValueOf(c.Company)
	case events.AggregateDeal:
		c.Deal = &events.Deal{}
		p = reflect.ValueOf(c.Deal)
	case events.AggregateInteraction:
		c.Interaction = &events.Interaction{}
		p = reflect.ValueOf(c.Interaction)
	case events.AggregateComment:
		c.Comment = &events.Comment{}
		p = reflect.ValueOf(c.Comment)
	case events.AggregateUser:
		c.User = &events.User{}
		p = reflect.ValueOf(c.User)
	default:
		return fmt.Errorf("unknown aggregate %q", c.Aggregate)
	}
	v := p.Elem()
	for i, s := range ct.setters {
		if s.index == nil || vals[i] == nil {
			continue // a new payload's field is already zero
		}
		if err := assignValue(v.FieldByIndex(s.index), vals[i]); err != nil {
			return err.under(s.name)
		}
	}
	return nil
}
