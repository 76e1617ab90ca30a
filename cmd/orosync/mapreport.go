package main

import (
	"github.com/orosync/orosync/events"
	transformer "github.com/orosync/orosync/services/transformer/service"
	writer "github.com/orosync/orosync/services/writer/service"
)

// mercatoLine is a line of `orosync map --report --mercato`: the mapping's disposition of one Oro field and, for
// each payload field or custom field key it feeds, where the writer puts it in Mercato.
type mercatoLine struct {
	transformer.ReportLine
	Mercato []mercatoDest `json:"mercato,omitempty"`
}

// mercatoDest is one Mercato destination of an Oro field: through a payload field (Via) or a custom field key,
// with the custom field's definition.
type mercatoDest struct {
	Via string `json:"via"`
	writer.Destination
	Definition *events.CustomFieldDef `json:"definition,omitempty"`
}

// mercatoReport adds the Mercato destinations to the mapping's report; an Oro type the mapping ignores is dropped
// with the mapping's reason.
func mercatoReport(m *transformer.Mapping, lines []transformer.ReportLine) []mercatoLine {
	dests := writer.Destinations()
	out := make([]mercatoLine, 0, len(lines))
	for _, l := range lines {
		ml := mercatoLine{ReportLine: l}
		agg := l.Aggregate
		if agg == "embedded" {
			agg = "address"
		}
		switch l.Disposition {
		case transformer.Mapped:
			for _, to := range l.To {
				for _, d := range dests[agg][to] {
					md := mercatoDest{Via: to, Destination: d}
					if def, ok := m.CustomFieldDefOf(l.Type, d.Column); ok && d.Kind == "custom-field" {
						md.Definition = &def // a payload field the writer keeps as a custom field
					}
					ml.Mercato = append(ml.Mercato, md)
				}
			}
		case transformer.Custom:
			for _, key := range l.To {
				if def, ok := m.CustomFieldDefOf(l.Type, key); ok {
					ml.Mercato = append(ml.Mercato, mercatoDest{Via: "customFields." + key, Definition: &def,
						Destination: writer.Destination{Kind: "custom-field", Table: "custom_field_values", Column: key, Note: def.Entity}})
					continue
				}
				for _, d := range dests[agg]["customFields"] {
					ml.Mercato = append(ml.Mercato, mercatoDest{Via: "customFields." + key, Destination: d})
				}
			}
		}
		out = append(out, ml)
	}
	return out
}
