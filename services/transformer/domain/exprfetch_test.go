package domain

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
)

// TestFetchPatchKeepsExprSemantics: member reads compiled to fetch__ give what expr's own member reads give,
// values and errors, through optional chains, nil, lists, strings, predicates and function calls.
func TestFetchPatchKeepsExprSemantics(t *testing.T) {
	vars := &env{
		Attr: map[string]any{"a": map[string]any{"b": "x", "n": nil}, "emails": []any{map[string]any{"email": "e"}, map[string]any{}},
			"s": "str", "list": []any{map[string]any{"id": "1"}}, "typed": map[string]string{"k": "v"}},
		Rel: map[string]any{"region": map[string]any{"type": "regions", "id": "PL-30"}, "none": nil},
		Out: map[string]any{"firstName": "Zoë"},
		ID:  "7", Type: "contacts", Fetch: fetch,
	}
	for _, src := range []string{
		`attr.a.b`, `attr.a.n`, `attr.a.missing`, `attr.missing`, `attr.missing.b`, `attr.missing?.b`, `attr.missing?.b.c`,
		`attr.a?.n.c`, `(attr.missing?.b).c`, `attr.s.b`, `attr.list[0].id`, `attr.list[0]?.id`, `map(attr.emails, .email)`,
		`map(attr.emails, #.email)`, `filter(attr.emails, .email != nil)`, `rel.region?.id`, `rel.none?.id`, `rel.none.id`,
		`out.firstName`, `out.firstName ?? "x"`, `attr.typed.k`, `attr.a["b"]`, `id + type`, `attr.a.b.c`,
		`let r = rel.region; r.id`, `first(attr.list)?.id`, `attr.emails[1].email ?? "none"`, `text(attr.a.b)`,
		`email(attr.s)`, `text(attr.list)`, `refs(rel.region)`, `map(attr.emails, email(.email))`, `text()`,
		`text(1, 2)`, `int("7")`, `text(attr.a.b) ?? "none"`, `date(out.firstName)`, `related("x", rel.region)`,
	} {
		t.Run(src, func(t *testing.T) {
			plain, err := expr.Compile(src, (&Mapping{}).exprFunctions()...)
			if err != nil {
				t.Fatal(err)
			}
			patched, err := expr.Compile(src, (&Mapping{}).exprOptions()...)
			if err != nil {
				t.Fatal(err)
			}
			if src == `text(attr.a.b)` && strings.Contains(patched.Disassemble(), "OpFetch\t") {
				t.Errorf("text(attr.a.b) still fetched through reflection:\n%s", patched.Disassemble())
			}
			want, wantErr := expr.Run(plain, vars)
			got, gotErr := expr.Run(patched, vars)
			if !reflect.DeepEqual(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("patched %v, %v; expr %v, %v", got, gotErr, want, wantErr)
			}
		})
	}
}
