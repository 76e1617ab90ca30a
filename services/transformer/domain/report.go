package domain

import (
	"slices"
	"sort"
)

// Disposition of one Oro attribute or relationship under a mapping.
const (
	Mapped  = "mapped"
	Custom  = "custom-field"
	Dropped = "dropped"
)

// ReportLine says what a mapping does with one source field of one Oro type.
type ReportLine struct {
	Type        string   `json:"type"`
	Field       string   `json:"field"` // attributes.x or relationships.x
	Disposition string   `json:"disposition"`
	To          []string `json:"to,omitempty"` // payload fields it feeds, or the custom field key
	Why         string   `json:"why,omitempty"`
	Aggregate   string   `json:"aggregate,omitempty"`
}

// Report lists, per Oro type, every source field the mapping reads, keeps or drops. It is derived from the
// mapping itself (from fields, expressions' attr.x / rel.x, custom and dropped), so it cannot drift from it.
func (m *Mapping) Report() []ReportLine {
	var lines []ReportLine
	for name, ct := range m.types {
		agg := ct.spec.Aggregate
		if ct.spec.Embedded {
			agg = "embedded"
		}
		mapped := map[string][]string{}
		custom := map[string][]string{} // source field → keys a customFields expression computes from it
		add := func(src, to string) {
			for _, t := range mapped[src] {
				if t == to {
					return
				}
			}
			mapped[src] = append(mapped[src], to)
		}
		feeds := map[string][]string{} // payload field → the source fields it was computed from
		feed := func(src, to string) {
			add(src, to)
			feeds[to] = append(feeds[to], src)
		}
		for _, f := range ct.fields {
			if f.spec.From != "" {
				feed(f.spec.From, f.spec.To)
				continue
			}
			if f.spec.To == "customFields" {
				for k, srcs := range computedCustomKeys(f.spec.Expr) {
					for _, src := range srcs {
						custom[src] = append(custom[src], k)
					}
				}
				continue
			}
			attrs, rels := referenced(f.spec.Expr)
			for _, a := range attrs {
				feed("attributes."+a, f.spec.To)
			}
			for _, r := range rels {
				feed("relationships."+r, f.spec.To)
			}
			// A field computed from fields before it (out.x) is fed by their sources too.
			for _, o := range outsRead(f.spec.Expr) {
				for _, src := range slices.Clone(feeds[o]) {
					feed(src, f.spec.To)
				}
			}
		}
		for src, to := range mapped {
			lines = append(lines, ReportLine{Type: name, Field: src, Disposition: Mapped, To: to, Aggregate: agg})
		}
		for _, c := range ct.custom {
			src := c.section + "." + c.name
			custom[src] = append(custom[src], c.key)
		}
		for src, keys := range custom {
			sort.Strings(keys)
			lines = append(lines, ReportLine{Type: name, Field: src, Disposition: Custom, To: slices.Compact(keys), Aggregate: agg})
		}
		for src, why := range ct.spec.Dropped {
			lines = append(lines, ReportLine{Type: name, Field: src, Disposition: Dropped, Why: why, Aggregate: agg})
		}
	}
	for name, why := range m.Ignore {
		lines = append(lines, ReportLine{Type: name, Field: "*", Disposition: Dropped, Why: why})
	}
	sort.Slice(lines, func(i, j int) bool {
		a, b := lines[i], lines[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Disposition < b.Disposition
	})
	return lines
}
