package domain

import (
	"encoding/json"
	"math"
	"testing"
)

// Every value of a custom field becomes rows with exactly one column set, holding the value (numbers as their
// column keeps them), or an error; nothing panics.
func FuzzCustomFieldValuesSetExactlyOneColumn(f *testing.F) {
	for _, s := range []string{`"text"`, `"two\nlines"`, `12`, `-2147483649`, `0.25`, `1e300`, `true`, `null`, `["a", null, 3, [1], {"k": "v"}]`, `{"k": 1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		rows, err := CustomFieldValues(v)
		if err != nil {
			return
		}
		want := 1
		switch x := v.(type) {
		case nil:
			want = 0
		case []any:
			want = 0
			for _, e := range x {
				if e != nil {
					want++
				}
			}
		}
		if len(rows) != want {
			t.Fatalf("%s: %d rows, want %d", data, len(rows), want)
		}
		for _, r := range rows {
			set := 0
			for _, p := range []bool{r.Text != nil, r.Multiline != nil, r.Int != nil, r.Float != nil, r.Bool != nil} {
				if p {
					set++
				}
			}
			if set != 1 {
				t.Fatalf("%s: a row with %d columns set: %+v", data, set, r)
			}
			if r.Float != nil && (math.IsInf(float64(*r.Float), 0) || math.IsNaN(float64(*r.Float))) {
				t.Fatalf("%s: real column given %v", data, *r.Float)
			}
		}
		if n, ok := v.(float64); ok && n == math.Trunc(n) && math.Abs(n) <= math.MaxInt32 && n >= math.MinInt32 {
			if rows[0].Int == nil || float64(*rows[0].Int) != n {
				t.Fatalf("%s: whole number not kept in value_int: %+v", data, rows[0])
			}
		}
	})
}
