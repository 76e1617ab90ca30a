package domain

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/orosync/orosync/events"
)

// jsonFields are the JSON names of a payload struct's fields, embedded structs' included.
func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		out = append(out, strings.Split(f.Tag.Get("json"), ",")[0])
	}
	return out
}

func TestEveryPayloadFieldHasAMercatoDestination(t *testing.T) {
	dests := Destinations()
	for agg, typ := range map[string]reflect.Type{
		events.AggregatePerson: reflect.TypeFor[events.Person](), events.AggregateCompany: reflect.TypeFor[events.Company](),
		events.AggregateDeal: reflect.TypeFor[events.Deal](), events.AggregateInteraction: reflect.TypeFor[events.Interaction](),
		events.AggregateComment: reflect.TypeFor[events.Comment](), events.AggregateUser: reflect.TypeFor[events.User](),
		"address": reflect.TypeFor[events.Address](),
	} {
		for _, f := range jsonFields(typ) {
			if len(dests[agg][f]) == 0 {
				t.Errorf("%s.%s has no destination", agg, f)
			}
		}
	}
}

// Every column a destination names is a column of Mercato's table (the DDL copied from Mercato's migrations).
func TestEveryDestinationColumnIsOneOfMercatosTable(t *testing.T) {
	ddl, err := os.ReadFile("../../../testdata/mercato-ddl/customers.sql")
	if err != nil {
		t.Fatal(err)
	}
	columns := map[string]bool{}
	table := ""
	create := regexp.MustCompile(`^CREATE TABLE (\w+) \(`)
	column := regexp.MustCompile(`^\s+(\w+)\s+\w`)
	for _, l := range strings.Split(string(ddl), "\n") {
		if m := create.FindStringSubmatch(l); m != nil {
			table = m[1]
			continue
		}
		if strings.HasPrefix(l, ")") {
			table = ""
		}
		if m := column.FindStringSubmatch(l); m != nil && table != "" {
			columns[table+"."+m[1]] = true
		}
	}
	for agg, fields := range Destinations() {
		for f, ds := range fields {
			for _, d := range ds {
				if (d.Kind == DestColumn || d.Kind == DestDictionary) && !columns[d.Table+"."+d.Column] {
					t.Errorf("%s.%s: %s.%s is no column of Mercato's", agg, f, d.Table, d.Column)
				}
			}
		}
	}
}
