package domain

import "reflect"

// TypesMappedAlike names the Oro types m maps exactly as base does, but for the mapping version: the type's own
// entry (or its ignore reason) is the same, so are the tables and custom fields every expression may read, and so
// is every other type's entry when the type's expressions embed included records (embed maps them with their own
// type's entry). A replay with base need not map records of these types at all. Nil when base is nil.
func TypesMappedAlike(m, base *Mapping) map[string]bool {
	if base == nil {
		return nil
	}
	alike := map[string]bool{}
	if !reflect.DeepEqual(m.Tables, base.Tables) || !reflect.DeepEqual(m.CustomFields, base.CustomFields) {
		return alike
	}
	sameEntry := func(t string) bool {
		ms, mok := m.Types[t]
		bs, bok := base.Types[t]
		mi, miok := m.Ignore[t]
		bi, biok := base.Ignore[t]
		return mok == bok && miok == biok && mi == bi && reflect.DeepEqual(ms, bs)
	}
	everyEntry := reflect.DeepEqual(m.Types, base.Types)
	for t := range m.Types {
		if sameEntry(t) && (!m.types[t].embeds || everyEntry) {
			alike[t] = true
		}
	}
	for t := range m.Ignore {
		if sameEntry(t) {
			alike[t] = true
		}
	}
	return alike
}
