package domain

import (
	"reflect"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// fetchFunc names the function member reads of maps are compiled to. expr compiles x.name on a map (attr.emails,
// out.firstName, #.id) to a fetch through reflection that allocates a copy of every value it reads; fetch reads a
// map[string]any directly and hands anything else to expr's own fetch, so the result (and the error on a bad
// read) is the same. It is an env field of a plain func(any, any) any, which the VM calls without reflection or
// an argument slice (a declared expr.Function would need one per call).
const fetchFunc = "fetch__"

func fetch(from, key any) any {
	if m, ok := from.(map[string]any); ok {
		if k, ok := key.(string); ok {
			return m[k]
		}
	}
	return runtime.Fetch(from, key)
}

// fetchPatcher rewrites x.name into fetch__(x, "name") where x is a map[string]any or of unknown type, the member
// is not optional and nothing below it in its chain is (?. skips the rest of a chain; a call would not), and it is
// not the callee of a call (a method). One per compiled expression: it remembers the calls it made.
type fetchPatcher struct {
	made map[*ast.CallNode]*ast.MemberNode
}

var mapStringAny = reflect.TypeFor[map[string]any]()

func (p *fetchPatcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.CallNode:
		if c, ok := n.Callee.(*ast.CallNode); ok && p.made[c] != nil {
			n.Callee = p.made[c] // a method call keeps its member node
		}
	case *ast.MemberNode:
		name, ok := n.Property.(*ast.StringNode)
		if !ok || n.Method || optionalBelow(n) {
			return
		}
		if t := n.Node.Type(); t != nil && t != mapStringAny && t.Kind() != reflect.Interface {
			return
		}
		call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fetchFunc},
			Arguments: []ast.Node{n.Node, &ast.StringNode{Value: name.Value}}}
		if p.made == nil {
			p.made = map[*ast.CallNode]*ast.MemberNode{}
		}
		p.made[call] = n
		ast.Patch(node, call)
	}
}

// optionalBelow reports whether n or a member, call or slice its value is read through is optional (?.).
func optionalBelow(n ast.Node) bool {
	for {
		switch x := n.(type) {
		case *ast.MemberNode:
			if x.Optional {
				return true
			}
			n = x.Node
		case *ast.CallNode:
			if c, ok := x.Callee.(*ast.IdentifierNode); ok && c.Value == fetchFunc && len(x.Arguments) == 2 {
				n = x.Arguments[0]
				continue
			}
			n = x.Callee
		case *ast.SliceNode:
			n = x.Node
		default: // a closed chain (ChainNode) gives a plain value

			return false
		}
	}
}
