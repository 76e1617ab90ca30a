package main

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/orosync/orosync/events"
	writer "github.com/orosync/orosync/services/writer/service"
)

func TestConflictPolicyFlag(t *testing.T) {
	t.Run("sets per-aggregate defaults, field overrides", func(t *testing.T) {
		rules, err := parseRules("customers.person=merge,customers.person.jobTitle=mercato-wins,customers.company=last-write-wins")
		if err != nil {
			t.Fatal(err)
		}
		person := rules[events.AggregatePerson]
		if person.Default != writer.Merge || person.Fields["jobTitle"] != writer.MercatoWins || rules[events.AggregateCompany].Default != writer.LastWriteWins {
			t.Errorf("rules %+v", rules)
		}
	})
	t.Run("one policy covers everything", func(t *testing.T) {
		all, err := parseRules("mercato-wins")
		if err != nil || all[events.AggregatePerson].Default != writer.MercatoWins || all[events.AggregateDeal].Default != writer.MercatoWins {
			t.Errorf("one policy for everything: %+v, %v", all, err)
		}
	})
	t.Run("refuses what it cannot read", func(t *testing.T) {
		for _, bad := range []string{"sometimes", "customers.person=maybe", "person=merge", "customers.person"} {
			if _, err := parseRules(bad); err == nil {
				t.Errorf("%q accepted", bad)
			}
		}
	})
}

func TestLogFormatJSONWritesOneObjectALine(t *testing.T) {
	var c common
	fs := newCommand("run", "", io.Discard, io.Discard)
	c.register(fs)
	if err := fs.parse([]string{"--log-format", "json"}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c.logger(&out).Info("polled", "tenant", "acme", "records", 3)
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("--log-format json wrote %q: %v", out.String(), err)
	}
	if line["msg"] != "polled" || line["tenant"] != "acme" || line["level"] != "INFO" {
		t.Errorf("logged %v", line)
	}
	if err := fs.parse([]string{"--log-format", "xml"}); err == nil {
		t.Error("--log-format xml was accepted")
	}
}
