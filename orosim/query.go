package orosim

import (
	"regexp"
	"sort"
	"strings"
)

// Oro reads filters from the raw QUERY_STRING with its own regex instead of
// PHP's $_GET, so `filter[updatedAt]>=2024-01-01` is a filter on updatedAt with
// the ">=" operator. Go's url.ParseQuery would see the key "filter[updatedAt]>"
// instead, which is why the simulator parses the raw query itself.

// isOperatorName reports whether s is one of Oro's operator names, the
// `gte` in filter[x][gte] (ApiBundle app.yml filter_operators).
func isOperatorName(s string) bool {
	switch s {
	case "eq", "neq", "gt", "lt", "gte", "lte", "exists", "neq_or_null",
		"contains", "not_contains", "starts_with", "not_starts_with",
		"ends_with", "not_ends_with", "empty":
		return true
	}
	return false
}

// rawOperatorName maps the short forms that may replace "=" between key and
// value (filter[x]>=v) to operator names.
func rawOperatorName(op string) string {
	switch op {
	case "!=", "<>":
		return "neq"
	case "<":
		return "lt"
	case "<=":
		return "lte"
	case ">":
		return "gt"
	case ">=":
		return "gte"
	}
	return "eq"
}

// paramPattern mirrors Oro's RestFilterValueAccessor key syntax: a group made
// of ASCII word characters, dots and dashes, then any number of [..] parts,
// then the operator, then the value.
var paramPattern = regexp.MustCompile(`(?s)^([A-Za-z0-9_.\-]+)((?:\[[A-Za-z0-9_.\-]*\])*)(!=|<>|<=|>=|<|>|=)(.*)$`)

// queryParam is one parsed key/value pair of the query string.
type queryParam struct {
	Source    string   // the key as the client wrote it, used in error sources
	Group     string   // "filter", "page", "sort", "fields", ...
	Path      []string // the bracketed parts after the group, operator removed
	Op        string   // Oro operator name: eq, neq, lt, lte, gt, gte, exists, ...
	Value     string
	RawOp     bool // the operator was written in the raw form (filter[x]>=v)
	Valueless bool
}

// key identifies a parameter for de-duplication: the same key and operator
// given twice keeps the last value, like Oro.
func (p queryParam) key() string {
	return p.Group + "[" + strings.Join(p.Path, "][") + "]" + p.Op
}

// parseQuery splits a raw query string into parameters. Like Oro it reads the
// normalized query string (sorted by key), so when a key and operator repeat,
// the value that sorts last wins. It never fails: a segment that does not look
// like a parameter comes back with an empty Group, to be rejected as an
// unsupported filter.
func parseQuery(raw string) []queryParam {
	var out []queryParam
	index := map[string]int{}
	for _, pair := range normalizeQuery(raw) {
		p, ok := parseSegment(pair.decoded)
		if !ok {
			continue
		}
		k := p.key()
		if i, dup := index[k]; dup {
			out[i] = p
			continue
		}
		index[k] = len(out)
		out = append(out, p)
	}
	return out
}

func parseSegment(dec string) (queryParam, bool) {
	m := paramPattern.FindStringSubmatch(dec)
	if m == nil {
		if dec == "" {
			return queryParam{}, false
		}
		// A key without a value ("?foo") or with characters Oro's regex does
		// not accept: keep it so it is reported, not silently ignored.
		return queryParam{Source: dec, Valueless: true}, true
	}
	group, brackets, op, value := m[1], m[2], m[3], m[4]
	p := queryParam{
		Source: group + brackets,
		Group:  group,
		Op:     rawOperatorName(op),
		RawOp:  op != "=",
		Value:  value,
	}
	if brackets != "" {
		parts := strings.Split(brackets[1:len(brackets)-1], "][")
		if last := parts[len(parts)-1]; isOperatorName(last) {
			// An operator name in brackets beats a raw operator.
			p.Op = last
			p.RawOp = false
			parts = parts[:len(parts)-1]
		}
		p.Path = parts
	}
	return p, true
}

// phpURLDecode behaves like PHP's urldecode: "+" is a space and malformed
// escapes are kept literally instead of failing.
func phpURLDecode(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// phpRawURLEncode behaves like PHP's rawurlencode (RFC 3986 unreserved kept).
func phpRawURLEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// normalizedPair is one pair of a normalized query string.
type normalizedPair struct {
	key     string // decoded key, the sort key
	text    string // encoded "key=value" (or just "key")
	decoded string // decoded "key=value" (or just "key")
}

// normalizeQuery is Oro's RequestQueryStringNormalizer: pairs are decoded,
// re-encoded with rawurlencode and sorted by key. HATEOAS links are built
// from it, so the simulator's links look like Oro's (page%5Bnumber%5D=2).
func normalizeQuery(raw string) []normalizedPair {
	var out []normalizedPair
	for _, seg := range strings.Split(raw, "&") {
		if seg == "" || seg[0] == '=' {
			continue
		}
		k, v, hasValue := strings.Cut(seg, "=")
		dk := phpURLDecode(k)
		p := normalizedPair{key: dk, text: phpRawURLEncode(dk), decoded: dk}
		if hasValue {
			dv := phpURLDecode(v)
			p.text += "=" + phpRawURLEncode(dv)
			p.decoded += "=" + dv
		}
		out = append(out, p)
	}
	return sortPairs(out)
}

// sortPairs orders pairs like PHP's array_multisort($order, $parts).
func sortPairs(pairs []normalizedPair) []normalizedPair {
	sort.SliceStable(pairs, func(i, j int) bool {
		if pairs[i].key != pairs[j].key {
			return pairs[i].key < pairs[j].key
		}
		return pairs[i].text < pairs[j].text
	})
	return pairs
}

// joinPairs renders normalized pairs as a query string.
func joinPairs(pairs []normalizedPair) string {
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.text
	}
	return strings.Join(parts, "&")
}
