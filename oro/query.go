package oro

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Filter is one JSON:API filter. Op is Oro's operator name ("eq", "neq",
// "lt", "lte", "gt", "gte", "exists", "neq_or_null", ...); "" means "eq".
// It is encoded as filter[Field][Op]=Value, or filter[Field]=Value for eq.
// Value is sent as given: lists ("5,7") and ranges ("5..7") use Oro's syntax.
type Filter struct {
	Field string
	Op    string
	Value string
}

// Query carries the query-string options of a GET request.
type Query struct {
	Filters []Filter
	// Sort lists sort fields in order; a leading "-" sorts descending.
	Sort []string
	// PageNumber is page[number]; 0 leaves it out (Oro's default is 1).
	PageNumber int
	// PageSize is page[size]; 0 leaves it out (Oro's default is 10), -1
	// asks for everything.
	PageSize int
	// Fields are sparse fieldsets: fields[type]=a,b.
	Fields map[string][]string
	// Include lists relationship paths to include ("account", "lead.account").
	Include []string
	// TotalCount asks for X-Include-Total-Count with "X-Include: totalCount".
	TotalCount bool
	// NoHateoas asks Oro to leave out every links member ("X-Include: noHateoas"): smaller pages, and no
	// links.next (keyset paging does not need it).
	NoHateoas bool
}

// includes is the X-Include header value of q.
func (q Query) includes() string {
	var v []string
	if q.TotalCount {
		v = append(v, "totalCount")
	}
	if q.NoHateoas {
		v = append(v, "noHateoas")
	}
	return strings.Join(v, ";")
}

// Values encodes the query-string part of q (TotalCount is a header and is
// not part of it).
func (q Query) Values() (url.Values, error) {
	v := url.Values{}
	for i, f := range q.Filters {
		if f.Field == "" {
			return nil, fmt.Errorf("filter %d: empty field name", i)
		}
		if strings.ContainsAny(f.Field, "[]") {
			return nil, fmt.Errorf("filter %d: field name %q contains brackets", i, f.Field)
		}
		if strings.ContainsAny(f.Op, "[]") {
			return nil, fmt.Errorf("filter %d: operator %q contains brackets", i, f.Op)
		}
		key := "filter[" + f.Field + "]"
		if f.Op != "" && f.Op != "eq" {
			key += "[" + f.Op + "]"
		}
		v.Add(key, f.Value)
	}
	if len(q.Sort) > 0 {
		if err := noEmpty("sort", q.Sort); err != nil {
			return nil, err
		}
		v.Set("sort", strings.Join(q.Sort, ","))
	}
	if q.PageNumber < 0 {
		return nil, fmt.Errorf("page number %d: must not be negative", q.PageNumber)
	}
	if q.PageNumber > 0 {
		v.Set("page[number]", strconv.Itoa(q.PageNumber))
	}
	if q.PageSize < -1 {
		return nil, fmt.Errorf("page size %d: must be positive or -1", q.PageSize)
	}
	if q.PageSize != 0 {
		v.Set("page[size]", strconv.Itoa(q.PageSize))
	}
	for typ, fields := range q.Fields {
		if typ == "" || strings.ContainsAny(typ, "[]") {
			return nil, fmt.Errorf("fields: bad type name %q", typ)
		}
		if err := noEmpty("fields["+typ+"]", fields); err != nil {
			return nil, err
		}
		v.Set("fields["+typ+"]", strings.Join(fields, ","))
	}
	if len(q.Include) > 0 {
		if err := noEmpty("include", q.Include); err != nil {
			return nil, err
		}
		v.Set("include", strings.Join(q.Include, ","))
	}
	return v, nil
}

func noEmpty(what string, items []string) error {
	for _, s := range items {
		if s == "" {
			return errors.New(what + ": empty item")
		}
	}
	return nil
}
