package oro

import "testing"

func TestXIncludeCombinesItsOptions(t *testing.T) {
	for _, tc := range []struct {
		q    Query
		want string
	}{
		{Query{}, ""},
		{Query{TotalCount: true}, "totalCount"},
		{Query{NoHateoas: true}, "noHateoas"},
		{Query{TotalCount: true, NoHateoas: true}, "totalCount;noHateoas"},
	} {
		if got := tc.q.includes(); got != tc.want {
			t.Errorf("%+v: X-Include %q, want %q", tc.q, got, tc.want)
		}
	}
}
