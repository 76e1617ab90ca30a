package main

import (
	"testing"

	"github.com/orosync/orosync/events"
	writerdomain "github.com/orosync/orosync/services/writer/domain"
)

func TestConflictPolicyFlagSetsDefaultsAndFieldOverrides(t *testing.T) {
	rules, err := parseRules("customers.person=merge,customers.person.jobTitle=mercato-wins,customers.company=last-write-wins")
	if err != nil {
		t.Fatal(err)
	}
	person := rules[events.AggregatePerson]
	if person.Default != writerdomain.Merge || person.Fields["jobTitle"] != writerdomain.MercatoWins || rules[events.AggregateCompany].Default != writerdomain.LastWriteWins {
		t.Errorf("rules %+v", rules)
	}
	all, err := parseRules("mercato-wins")
	if err != nil || all[events.AggregatePerson].Default != writerdomain.MercatoWins || all[events.AggregateDeal].Default != writerdomain.MercatoWins {
		t.Errorf("one policy for everything: %+v, %v", all, err)
	}
	for _, bad := range []string{"sometimes", "customers.person=maybe", "person=merge", "customers.person"} {
		if _, err := parseRules(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
