package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// CustomFieldValue is one custom_field_values row's value: exactly one of the columns is set (value_text,
// value_multiline, value_int, value_float, value_bool).
type CustomFieldValue struct {
	Text, Multiline *string
	Int             *int32
	Float           *float32
	Bool            *bool
}

// CustomFieldValues are the rows of one field's value: none for null, one per element of an array (nested
// arrays and objects are kept as JSON text), else one.
func CustomFieldValues(v any) ([]CustomFieldValue, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]CustomFieldValue, 0, len(x))
		for _, e := range x {
			if e == nil {
				continue
			}
			cv, err := scalarValue(e)
			if err != nil {
				return nil, err
			}
			out = append(out, cv)
		}
		return out, nil
	}
	cv, err := scalarValue(v)
	if err != nil {
		return nil, err
	}
	return []CustomFieldValue{cv}, nil
}

func scalarValue(v any) (CustomFieldValue, error) {
	switch x := v.(type) {
	case string:
		if strings.IndexByte(x, 0) >= 0 {
			return CustomFieldValue{}, errors.New("text with a NUL character (\\u0000), which PostgreSQL text cannot hold")
		}
		if strings.ContainsAny(x, "\r\n") {
			return CustomFieldValue{Multiline: &x}, nil
		}
		return CustomFieldValue{Text: &x}, nil
	case bool:
		return CustomFieldValue{Bool: &x}, nil
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt32 && x <= math.MaxInt32 {
			i := int32(x)
			return CustomFieldValue{Int: &i}, nil
		}
		if math.IsInf(x, 0) || math.IsNaN(x) || math.Abs(x) > math.MaxFloat32 {
			return CustomFieldValue{}, fmt.Errorf("number %v does not fit custom_field_values.value_float (real)", x)
		}
		f := float32(x)
		return CustomFieldValue{Float: &f}, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return CustomFieldValue{}, fmt.Errorf("number %q: %w", x, err)
		}
		return scalarValue(f)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return CustomFieldValue{}, err
	}
	s := string(b)
	return CustomFieldValue{Text: &s}, nil
}

// CheckCustomFields names the first field (in key order) whose value Mercato's columns cannot hold.
func CheckCustomFields(fields map[string]any) (string, error) {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := CustomFieldValues(fields[k]); err != nil {
			return k, err
		}
	}
	return "", nil
}
