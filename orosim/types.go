package orosim

import (
	"strconv"
	"time"
)

// attrKind is the data type of an attribute; it decides how a value is
// stored, serialized, accepted by the admin API, filtered and sorted.
type attrKind int

const (
	kindString   attrKind = iota // JSON string or null
	kindInt                      // JSON number or null
	kindDateTime                 // "2006-01-02T15:04:05Z" (UTC, seconds) or null
	kindDate                     // "2006-01-02" or null
	kindObjects                  // [{"<ObjectKey>": "..."}], never null
	kindBool                     // JSON true/false or null
	kindMoney                    // decimal string with 4 decimals ("50.0000"), stored as a string
	kindFloat                    // JSON number (probability as a fraction 0..1), stored as float64
	kindJSON                     // any JSON value (email recipients, bodies), stored decoded
)

// attrDef describes one attribute of a resource type, in Oro's output order.
type attrDef struct {
	Name      string
	Kind      attrKind
	ObjectKey string // the single key of each object of a kindObjects list
	ServerSet bool   // createdAt/updatedAt: values sent by clients are ignored
}

// relDef describes one relationship of a resource type.
type relDef struct {
	Name   string
	Target string // JSON:API type of the related resources; "" = any (activityTargets)
	ToMany bool
}

// ref is JSON:API resource linkage.
type ref struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// filterDef is one `filter[Name]` a type accepts. Oro only enables filters for
// the identifier, indexed columns, associations and what api.yml adds, so
// every type declares its own list and anything else is a 400.
type filterDef struct {
	Name       string
	DataType   string   // "integer", "datetime", "string" or "boolean"; picks value parsing and messages
	Ops        []string // supported operator names
	AllowArray bool     // "a,b" means any of a and b
	AllowRange bool     // "a..b" means from a to b inclusive
	// Exactly one of ints/strs is set. Values of a record for this filter:
	// none means NULL (or an empty to-many collection).
	ints func(*record) []int64 // integers, or datetimes as Unix microseconds
	// int1 is an allocation-free ints for single-valued fields (id,
	// datetimes), used when set: filtering a million records must not
	// allocate per record.
	int1 func(*record) (int64, bool)
	strs func(*record) []string
}

func (f *filterDef) supports(op string) bool {
	for _, o := range f.Ops {
		if o == op {
			return true
		}
	}
	return false
}

// sortKey is a comparable projection of a record for one sorter.
type sortKey struct {
	null bool
	n    int64
	s    string
}

// sorterDef is one field accepted in `sort=`.
type sorterDef struct {
	Name string
	key  func(*record) sortKey
}

// typeDef is the registry entry of one JSON:API resource type.
type typeDef struct {
	Name    string
	Attrs   []attrDef
	Rels    []relDef
	Filters map[string]*filterDef
	Sorters map[string]*sorterDef
	// normalize runs after an admin write, with the names that were set; it
	// fixes derived values and rejects records Oro would not accept.
	normalize func(r *record, changed map[string]bool) error
	// validate runs on writes through /api and returns Oro's 400 errors.
	validate func(r *record) []apiError
	noTitle  bool // meta=title disabled (notes)
}

func (d *typeDef) attr(name string) (attrDef, bool) {
	for _, a := range d.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return attrDef{}, false
}

func (d *typeDef) rel(name string) (relDef, bool) {
	for _, r := range d.Rels {
		if r.Name == name {
			return r, true
		}
	}
	return relDef{}, false
}

// orderedOps is the operator set of Oro's integer/datetime filters.
func orderedOps() []string {
	return []string{"eq", "neq", "lt", "lte", "gt", "gte", "exists", "neq_or_null"}
}

// stringOps is the operator set of Oro's string and association filters.
func stringOps() []string { return []string{"eq", "neq", "exists", "neq_or_null"} }

// record is one stored resource. Records are never modified after they are
// stored: writers replace them, so readers may use a record after unlocking.
type record struct {
	ID    int64
	Attrs map[string]any   // string, int64, time.Time or []string; missing means null
	Rels  map[string][]ref // to-one relationships hold zero or one item
}

func (r *record) idString() string { return strconv.FormatInt(r.ID, 10) }

func (r *record) clone() *record {
	c := &record{ID: r.ID, Attrs: make(map[string]any, len(r.Attrs)), Rels: make(map[string][]ref, len(r.Rels))}
	for k, v := range r.Attrs {
		if l, ok := v.([]string); ok {
			v = append([]string(nil), l...)
		}
		c.Attrs[k] = v
	}
	for k, v := range r.Rels {
		c.Rels[k] = append([]ref(nil), v...)
	}
	return c
}

func (r *record) str(name string) (string, bool) {
	s, ok := r.Attrs[name].(string)
	return s, ok
}

func (r *record) timeAttr(name string) (time.Time, bool) {
	t, ok := r.Attrs[name].(time.Time)
	return t, ok
}

func (r *record) list(name string) []string {
	l, _ := r.Attrs[name].([]string)
	return l
}

// Filter constructors shared by every type.

func idFilter() *filterDef {
	return &filterDef{
		Name: "id", DataType: "integer", Ops: orderedOps(), AllowArray: true, AllowRange: true,
		ints: func(r *record) []int64 { return []int64{r.ID} },
		int1: func(r *record) (int64, bool) { return r.ID, true },
	}
}

func dateTimeFilter(attr string) *filterDef {
	return &filterDef{
		Name: attr, DataType: "datetime", Ops: orderedOps(), AllowRange: true,
		ints: func(r *record) []int64 {
			if t, ok := r.timeAttr(attr); ok {
				return []int64{t.UnixMicro()}
			}
			return nil
		},
		int1: func(r *record) (int64, bool) {
			if t, ok := r.timeAttr(attr); ok {
				return t.UnixMicro(), true
			}
			return 0, false
		},
	}
}

// stringFilter is Oro's StringComparisonFilter: no ranges, no lists (a comma
// is part of the value) and no ordering operators.
func stringFilter(attr string) *filterDef {
	return &filterDef{
		Name: attr, DataType: "string", Ops: stringOps(),
		strs: func(r *record) []string {
			if s, ok := r.str(attr); ok {
				return []string{s}
			}
			return nil
		},
	}
}

// objectsFilter filters by the values of a list attribute such as emails
// (api.yml: property_path emails.email, allow_array: true).
func objectsFilter(attr string) *filterDef {
	return &filterDef{
		Name: attr, DataType: "string", Ops: stringOps(), AllowArray: true,
		strs: func(r *record) []string { return r.list(attr) },
	}
}

// primaryFilter is Oro's PrimaryFieldFilter (primaryEmail, primaryPhone).
func primaryFilter(attr string) *filterDef {
	f := stringFilter(attr)
	f.Ops = []string{"eq", "neq"}
	return f
}

// relationFilter filters by the ids of related resources; Oro adds one for
// every association automatically.
func relationFilter(rel relDef) *filterDef {
	return &filterDef{
		Name: rel.Name, DataType: "string", Ops: stringOps(), AllowArray: true,
		strs: func(r *record) []string {
			refs := r.Rels[rel.Name]
			ids := make([]string, len(refs))
			for i, x := range refs {
				ids[i] = x.ID
			}
			return ids
		},
	}
}

func idSorter() *sorterDef {
	return &sorterDef{Name: "id", key: func(r *record) sortKey { return sortKey{n: r.ID} }}
}

func attrSorter(a attrDef) *sorterDef {
	return &sorterDef{Name: a.Name, key: func(r *record) sortKey {
		switch v := r.Attrs[a.Name].(type) {
		case string:
			return sortKey{s: v}
		case int64:
			return sortKey{n: v}
		case time.Time:
			return sortKey{n: v.UnixMicro()}
		case float64:
			return sortKey{n: int64(v * 1e6)}
		case []string:
			// Sorting by a to-many value (emails.email) joins the collection
			// in SQL; the smallest value stands in for the record here.
			if len(v) == 0 {
				return sortKey{null: true}
			}
			m := v[0]
			for _, x := range v[1:] {
				m = min(m, x)
			}
			return sortKey{s: m}
		}
		return sortKey{null: true}
	}}
}

// newTypeDef builds a type from its attributes and relationships, adding the
// id filter/sorter and one filter per relationship like Oro does. The named
// filters and sorters must refer to declared attributes.
func newTypeDef(name string, attrs []attrDef, rels []relDef, filters []*filterDef, sorters []string) *typeDef {
	d := &typeDef{
		Name: name, Attrs: attrs, Rels: rels,
		Filters: map[string]*filterDef{"id": idFilter()},
		Sorters: map[string]*sorterDef{"id": idSorter()},
	}
	for _, r := range rels {
		d.Filters[r.Name] = relationFilter(r)
	}
	for _, f := range filters {
		d.Filters[f.Name] = f
	}
	for _, s := range sorters {
		a, ok := d.attr(s)
		if !ok {
			panic("orosim: sorter on unknown attribute " + name + "." + s)
		}
		d.Sorters[s] = attrSorter(a)
	}
	return d
}

// builtinTypes returns a fresh registry of the simulated resource types.
func builtinTypes() map[string]*typeDef {
	out := map[string]*typeDef{}
	for _, d := range []*typeDef{
		contactsType(), contactaddressesType(), leadaddressesType(), addressesType(), accountsType(), b2bcustomersType(), opportunitiesType(), leadsType(),
		tasksType(), callsType(), notesType(), emailsType(), casesType(), usersType(), businessunitsType(), organizationsType(),
	} {
		out[d.Name] = d
	}
	return out
}
