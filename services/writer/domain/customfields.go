package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
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

// CustomFieldValues are the rows of one field's value without a definition (CustomFieldValuesOfKind, kind "").
func CustomFieldValues(v any) ([]CustomFieldValue, error) { return CustomFieldValuesOfKind(v, "") }

// CustomFieldValuesOfKind are the rows of one field's value as Mercato's setRecordCustomFields writes them
// (entities/lib/helpers.ts): none for null, one per element of an array (null elements left out), else one; the
// column is the definition's kind's (columnFromKind: integer value_int, float value_float, boolean value_bool,
// multiline value_multiline, any other kind value_text) converted as Mercato converts (String, Number, Boolean),
// or, for a key without a definition (kind ""), the value's own (columnFromJsValue: value_bool, value_int for a
// whole number, value_float, else value_text). Nested arrays and objects are kept as JSON text. A value the
// kind's column cannot hold (a word for an integer) is an error.
func CustomFieldValuesOfKind(v any, kind string) ([]CustomFieldValue, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]CustomFieldValue, 0, len(x))
		for _, e := range x {
			if e == nil {
				continue
			}
			cv, err := scalarValue(e, kind)
			if err != nil {
				return nil, err
			}
			out = append(out, cv)
		}
		return out, nil
	}
	cv, err := scalarValue(v, kind)
	if err != nil {
		return nil, err
	}
	return []CustomFieldValue{cv}, nil
}

func scalarValue(v any, kind string) (CustomFieldValue, error) {
	if n, ok := v.(json.Number); ok {
		f, err := n.Float64()
		if err != nil {
			return CustomFieldValue{}, fmt.Errorf("number %q: %w", n, err)
		}
		v = f
	}
	switch kind {
	case "":
		return jsValue(v)
	case "integer":
		f, err := number(v)
		if err != nil {
			return CustomFieldValue{}, err
		}
		if f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
			return CustomFieldValue{}, fmt.Errorf("%v is no integer custom_field_values.value_int (int) holds", f)
		}
		i := int32(f)
		return CustomFieldValue{Int: &i}, nil
	case "float":
		f, err := number(v)
		if err != nil {
			return CustomFieldValue{}, err
		}
		return floatValue(f)
	case "boolean":
		b, err := boolean(v)
		if err != nil {
			return CustomFieldValue{}, err
		}
		return CustomFieldValue{Bool: &b}, nil
	}
	s, err := text(v)
	if err != nil {
		return CustomFieldValue{}, err
	}
	if kind == "multiline" {
		return CustomFieldValue{Multiline: &s}, nil
	}
	return CustomFieldValue{Text: &s}, nil
}

// jsValue is the column of a value without a definition (columnFromJsValue).
func jsValue(v any) (CustomFieldValue, error) {
	switch x := v.(type) {
	case bool:
		return CustomFieldValue{Bool: &x}, nil
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt32 && x <= math.MaxInt32 {
			i := int32(x)
			return CustomFieldValue{Int: &i}, nil
		}
		return floatValue(x)
	}
	s, err := text(v)
	if err != nil {
		return CustomFieldValue{}, err
	}
	return CustomFieldValue{Text: &s}, nil
}

func floatValue(f float64) (CustomFieldValue, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > math.MaxFloat32 {
		return CustomFieldValue{}, fmt.Errorf("number %v does not fit custom_field_values.value_float (real)", f)
	}
	r := float32(f)
	return CustomFieldValue{Float: &r}, nil
}

// text is String(v) as Mercato stores a value in a text column: a number as JavaScript prints it, an object or
// array as JSON.
func text(v any) (string, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case bool:
		s = strconv.FormatBool(x)
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
		if math.Abs(x) >= 1e21 {
			s = strconv.FormatFloat(x, 'g', -1, 64)
		}
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		s = string(b)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", errors.New("text with a NUL character (\\u0000), which PostgreSQL text cannot hold")
	}
	return s, nil
}

// number is Number(v) for the numbers, numeric strings and booleans Mercato's numeric kinds take.
func number(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, fmt.Errorf("%q is not a number", x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("%T is not a number", v)
}

// boolean takes a boolean, a number (0 false) or the words true and false.
func boolean(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case float64:
		return x != 0, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b, nil
		}
		return false, fmt.Errorf("%q is not a boolean", x)
	}
	return false, fmt.Errorf("%T is not a boolean", v)
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
