package orosim

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// sortSpec is one field of `sort=`.
type sortSpec struct {
	sorter *sorterDef
	desc   bool
}

// listQuery is a validated GET request: filters, sort, paging, fieldsets.
type listQuery struct {
	conds      []condition
	sort       []sortSpec
	pageNumber int
	pageSize   int // as requested; -1 = unlimited
	offset     int
	limit      int                        // rows to return; -1 = all
	fields     map[string]map[string]bool // sparse fieldsets by type; nil = all fields
	include    [][]string                 // include=a,b.c as paths of relationship names
	metaTitle  bool                       // meta=title
	// countTotal asks for result.total (X-Include: totalCount). Without
	// it, a list in updatedAt order stops after its page and may leave
	// total at -1.
	countTotal bool
}

// updatedAtCondition returns a condition on updatedAt, which the store can
// evaluate on its updatedAt column.
func (q *listQuery) updatedAtCondition() *condition {
	for i := range q.conds {
		if q.conds[i].f.Name == "updatedAt" && q.conds[i].f.int1 != nil {
			return &q.conds[i]
		}
	}
	return nil
}

// matchesExcept checks every condition but skip.
func (q *listQuery) matchesExcept(r *record, skip *condition) bool {
	for i := range q.conds {
		if &q.conds[i] != skip && !q.conds[i].match(r) {
			return false
		}
	}
	return true
}

func (q *listQuery) matches(r *record) bool {
	for i := range q.conds {
		if !q.conds[i].match(r) {
			return false
		}
	}
	return true
}

// parseOptions are the server settings that change how a request is read.
type parseOptions struct {
	list        bool // filters, sort and paging are only accepted on lists
	maxEntities int  // >0: admin-configured oro_api.max_entities
	noRawOps    bool // reject filter[x]>=v (removed in Oro 6.1)
}

const defaultPageSize = 10 // oro_api.default_page_size

// parseRequest validates the query parameters of a GET request against a
// type, collecting every error like Oro does instead of stopping at the first.
func parseRequest(def *typeDef, params []queryParam, opt parseOptions) (*listQuery, []apiError) {
	q := &listQuery{pageNumber: 1, pageSize: defaultPageSize}
	var errs []apiError
	unsupported := func(p queryParam) {
		errs = append(errs, filterError("The filter is not supported.", p.Source))
	}
	for _, p := range params {
		if p.Valueless || p.Group == "" {
			unsupported(p)
			continue
		}
		if p.RawOp && opt.noRawOps {
			errs = append(errs, filterError(fmt.Sprintf(
				"The operator syntax %q is not supported, use %q.",
				p.Source+rawSymbol(p.Op)+"value", p.Source+"["+p.Op+"]=value"), p.Source))
			continue
		}
		switch {
		case p.Group == "filter" && opt.list && len(p.Path) == 1:
			f, ok := def.Filters[p.Path[0]]
			if !ok {
				unsupported(p)
				continue
			}
			if !f.supports(p.Op) {
				errs = append(errs, filterError(fmt.Sprintf("The operator %q is not supported.", p.Op), p.Source))
				continue
			}
			c, err := parseCondition(f, p.Op, p.Value)
			if err != "" {
				errs = append(errs, valueError(err, p.Source))
				continue
			}
			q.conds = append(q.conds, c)
		case p.Group == "page" && opt.list && len(p.Path) == 1 && p.Op == "eq":
			n, err := strconv.Atoi(p.Value)
			switch {
			case err != nil:
				errs = append(errs, valueError(fmt.Sprintf("Expected integer value. Given %q.", p.Value), p.Source))
			case p.Path[0] == "number" && n < 1:
				errs = append(errs, filterError("The value should be greater than or equals to 1.", p.Source))
			case p.Path[0] == "number":
				q.pageNumber = n
			case p.Path[0] == "size" && n != -1 && n < 1:
				errs = append(errs, filterError("The value should be greater than or equals to 1.", p.Source))
			case p.Path[0] == "size":
				q.pageSize = n
			default:
				unsupported(p)
			}
		case p.Group == "sort" && opt.list && len(p.Path) == 0 && p.Op == "eq":
			specs, sortErrs := parseSort(def, p.Value)
			errs = append(errs, sortErrs...)
			q.sort = specs
		case p.Group == "fields" && len(p.Path) == 1 && p.Op == "eq":
			if q.fields == nil {
				q.fields = map[string]map[string]bool{}
			}
			set := map[string]bool{}
			for _, f := range strings.Split(p.Value, ",") {
				if f = strings.TrimSpace(f); f != "" {
					set[f] = true
				}
			}
			q.fields[p.Path[0]] = set
		case p.Group == "include" && len(p.Path) == 0 && p.Op == "eq":
			for _, inc := range strings.Split(p.Value, ",") {
				if inc = strings.TrimSpace(inc); inc == "" {
					continue
				}
				path := strings.Split(inc, ".")
				if _, ok := def.rel(path[0]); !ok {
					errs = append(errs, apiError{Status: "400", Title: "value constraint",
						Detail: fmt.Sprintf("The relationship \"%s\" does not exist.", path[0]), Source: &errorSource{Parameter: "include"}})
					continue
				}
				q.include = append(q.include, path)
			}
		case p.Group == "meta" && len(p.Path) == 0 && p.Op == "eq":
			for _, m := range strings.Split(p.Value, ",") {
				if m = strings.TrimSpace(m); m == "title" && !def.noTitle {
					q.metaTitle = true
				} else if m != "" {
					known := "title"
					if def.noTitle {
						known = ""
					}
					errs = append(errs, apiError{Status: "400", Title: "value constraint",
						Detail: fmt.Sprintf("The \"%s\" is not known meta property. Known properties: %s.", m, known), Source: &errorSource{Parameter: "meta"}})
				}
			}
		default:
			unsupported(p)
		}
	}
	if len(q.sort) == 0 {
		q.sort = []sortSpec{{sorter: def.Sorters["id"]}}
	}

	// ValidatePaging / NormalizePaging.
	q.limit, q.offset = q.pageSize, (q.pageNumber-1)*q.pageSize
	switch {
	case opt.maxEntities > 0 && q.pageSize > opt.maxEntities:
		errs = append(errs, filterError(fmt.Sprintf("The value should be less than or equals to %d.", opt.maxEntities), "page[size]"))
	case q.pageSize == -1 && opt.maxEntities > 0:
		// "Unlimited" is silently capped to the configured maximum.
		q.limit, q.offset = opt.maxEntities, 0
	case q.pageSize == -1:
		q.limit, q.offset = -1, 0
	}
	if q.pageSize > 0 && q.pageNumber-1 > math.MaxInt32/q.pageSize {
		// Keeps offset arithmetic far from overflow; no real table is that big.
		errs = append(errs, filterError(fmt.Sprintf("The value should be less than or equals to %d.", math.MaxInt32/q.pageSize+1), "page[number]"))
		q.offset = 0
	}
	return q, errs
}

func rawSymbol(op string) string {
	switch op {
	case "neq":
		return "!="
	case "lt":
		return "<"
	case "lte":
		return "<="
	case "gt":
		return ">"
	case "gte":
		return ">="
	}
	return "="
}

func parseSort(def *typeDef, value string) ([]sortSpec, []apiError) {
	var specs []sortSpec
	var errs []apiError
	for _, field := range strings.Split(value, ",") {
		field = strings.TrimSpace(field)
		desc := strings.HasPrefix(field, "-")
		field = strings.TrimPrefix(field, "-")
		if field == "" {
			continue
		}
		s, ok := def.Sorters[field]
		if !ok {
			errs = append(errs, apiError{
				Status: "400", Title: "sort constraint",
				Detail: fmt.Sprintf("Sorting by %q field is not supported.", field),
				Source: &errorSource{Parameter: "sort"},
			})
			continue
		}
		specs = append(specs, sortSpec{sorter: s, desc: desc})
	}
	return specs, errs
}

// interval is [lo, hi) over integers or datetimes in Unix microseconds. A
// filter value of a coarse datetime ("2024-05") covers its whole period.
type interval struct{ lo, hi int64 }

// condition is one parsed filter.
type condition struct {
	f      *filterDef
	op     string
	ivals  []interval
	strs   []string
	exists bool
}

// parseCondition parses a filter value. It returns a non-empty message, in
// Oro's wording, when the value is invalid.
func parseCondition(f *filterDef, op, value string) (condition, string) {
	c := condition{f: f, op: op}
	if op == "exists" {
		b, ok := parseBool(value)
		if !ok {
			return c, fmt.Sprintf("Expected boolean value. Given %q.", value)
		}
		c.exists = b
		return c, ""
	}
	listOp := op == "eq" || op == "neq" || op == "neq_or_null"
	switch {
	case f.AllowRange && listOp && strings.Contains(value, ".."):
		from, to, _ := strings.Cut(value, "..")
		a, okA := parseOrdered(f.DataType, from)
		b, okB := parseOrdered(f.DataType, to)
		if !okA || !okB {
			return c, singleValueMessage(f.DataType, value)
		}
		c.ivals = []interval{{lo: a.lo, hi: b.hi}}
	case f.AllowArray && listOp && strings.Contains(value, ","):
		for _, part := range strings.Split(value, ",") {
			if f.ints != nil {
				iv, ok := parseOrdered(f.DataType, part)
				if !ok {
					return c, arrayMessage(f.DataType, value)
				}
				c.ivals = append(c.ivals, iv)
				continue
			}
			if strings.TrimSpace(part) == "" {
				return c, arrayMessage(f.DataType, value)
			}
			c.strs = append(c.strs, part)
		}
	case f.ints != nil:
		iv, ok := parseOrdered(f.DataType, value)
		if !ok {
			return c, singleValueMessage(f.DataType, value)
		}
		c.ivals = []interval{iv}
	default:
		if value == "" {
			return c, singleValueMessage(f.DataType, value)
		}
		c.strs = []string{value}
	}
	return c, ""
}

func singleValueMessage(dataType, value string) string {
	switch dataType {
	case "string":
		return fmt.Sprintf("Expected not empty string value. Given %q.", value)
	default:
		return fmt.Sprintf("Expected %s value. Given %q.", dataType, value)
	}
}

func arrayMessage(dataType, value string) string {
	switch dataType {
	case "string":
		return fmt.Sprintf("Expected an array of not empty strings. Given %q.", value)
	default:
		return fmt.Sprintf("Expected an array of %ss. Given %q.", dataType, value)
	}
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}

func parseOrdered(dataType, s string) (interval, bool) {
	if dataType == "datetime" {
		return parseDateTime(s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || strings.HasPrefix(s, "+") {
		return interval{}, false
	}
	if n == math.MaxInt64 {
		return interval{lo: n, hi: n}, true // saturated; no id is that large
	}
	return interval{lo: n, hi: n + 1}, true
}

// dateTimePattern is Oro's NormalizeDateTime requirement:
// YYYY[-MM[-DD[Thh[:mm[:ss[.ff]]][Z|±hh[:mm]]]]].
var dateTimePattern = regexp.MustCompile(`^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$`)

// parseDateTime returns the period a datetime filter value covers: a value
// with day precision matches the whole day, and so on for year, month, hour
// and minute. Values without an offset are UTC.
func parseDateTime(s string) (interval, bool) {
	// An unencoded "+" in an offset arrives as a space.
	m := dateTimePattern.FindStringSubmatch(strings.ReplaceAll(s, " ", "+"))
	if m == nil {
		return interval{}, false
	}
	num := func(i, def int) int {
		if m[i] == "" {
			return def
		}
		n, _ := strconv.Atoi(m[i])
		return n
	}
	year, month, day := num(1, 0), num(2, 1), num(3, 1)
	hour, minute, sec := num(4, 0), num(5, 0), num(6, 0)
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return interval{}, false
	}
	if day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return interval{}, false
	}
	nanos := 0
	if m[7] != "" {
		frac := (m[7] + "000000000")[:9]
		nanos, _ = strconv.Atoi(frac)
	}
	loc := time.UTC
	if tz := m[8]; tz != "" && tz != "Z" {
		digits := strings.ReplaceAll(tz[1:], ":", "")
		h, _ := strconv.Atoi(digits[:2])
		mins := 0
		if len(digits) == 4 {
			mins, _ = strconv.Atoi(digits[2:])
		}
		if h > 23 || mins > 59 {
			return interval{}, false
		}
		off := h*3600 + mins*60
		if tz[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	start := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, loc)
	var end time.Time
	switch {
	case m[2] == "":
		end = start.AddDate(1, 0, 0)
	case m[3] == "":
		end = start.AddDate(0, 1, 0)
	case m[4] == "":
		end = start.AddDate(0, 0, 1)
	case m[5] == "":
		end = start.Add(time.Hour)
	case m[6] == "":
		end = start.Add(time.Minute)
	case m[7] == "":
		end = start.Add(time.Second)
	default:
		start = start.Truncate(time.Microsecond)
		end = start.Add(time.Microsecond)
	}
	return interval{lo: start.UnixMicro(), hi: end.UnixMicro()}, true
}

func (c *condition) match(r *record) bool {
	if c.f.int1 != nil {
		var buf [1]int64
		vals := buf[:0]
		if v, ok := c.f.int1(r); ok {
			vals = append(vals, v)
		}
		return c.matchOrdered(vals)
	}
	if c.f.ints != nil {
		return c.matchOrdered(c.f.ints(r))
	}
	return c.matchStrings(c.f.strs(r))
}

func (c *condition) matchOrdered(vals []int64) bool {
	in := func() bool {
		for _, v := range vals {
			for _, iv := range c.ivals {
				if v >= iv.lo && v < iv.hi {
					return true
				}
			}
		}
		return false
	}
	anyMatch := func(pred func(v int64, iv interval) bool) bool {
		for _, v := range vals {
			for _, iv := range c.ivals {
				if pred(v, iv) {
					return true
				}
			}
		}
		return false
	}
	switch c.op {
	case "eq":
		return in()
	case "neq":
		// Oro: "Records with null as the field value are not returned."
		return len(vals) > 0 && !in()
	case "neq_or_null":
		return len(vals) == 0 || !in()
	case "exists":
		return (len(vals) > 0) == c.exists
	case "lt":
		return anyMatch(func(v int64, iv interval) bool { return v < iv.lo })
	case "lte":
		return anyMatch(func(v int64, iv interval) bool { return v < iv.hi })
	case "gt":
		return anyMatch(func(v int64, iv interval) bool { return v >= iv.hi })
	case "gte":
		return anyMatch(func(v int64, iv interval) bool { return v >= iv.lo })
	}
	return false
}

func (c *condition) matchStrings(vals []string) bool {
	in := func() bool {
		for _, v := range vals {
			for _, s := range c.strs {
				if v == s {
					return true
				}
			}
		}
		return false
	}
	switch c.op {
	case "eq":
		return in()
	case "neq":
		return len(vals) > 0 && !in()
	case "neq_or_null":
		return len(vals) == 0 || !in()
	case "exists":
		return (len(vals) > 0) == c.exists
	}
	return false
}
