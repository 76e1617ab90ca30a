package service_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orosync/orosync/services/writer/service"
)

// metricValue is the value of the series of name (with the label pair, if given) in reg; -1 when absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, label ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if len(label) == 2 && !hasLabel(m.GetLabel(), label[0], label[1]) {
				continue
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

func hasLabel[L interface {
	GetName() string
	GetValue() string
}](labels []L, name, value string) bool {
	for _, l := range labels {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func TestMetricsCountTheWritersWork(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := service.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h := startWith(t, func(c *service.Config) { c.Metrics = m })
	nameless := person("9", 1, "N", "N", "n@example.com")
	nameless.Person.DisplayName = ""
	h.publish(person("1", 1, "Ada", "L", "ada@example.com"), person("2", 1, "Bob", "B", "bob@example.com"), nameless)
	h.drain()
	h.publish(person("1", 2, "Ada", "Lovelace", "ada@example.com"), person("2", 1, "Bob", "B", "bob@example.com"))
	h.drain()
	// The relay publishes the three events (two created, one updated) after the commits: wait for it.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for metricValue(t, reg, "orosync_writer_events_relayed_total") < 3 {
		select {
		case <-tick.C:
		case <-h.ctx.Done():
			t.Fatalf("relayed %v events, want 3", metricValue(t, reg, "orosync_writer_events_relayed_total"))
		}
	}
	for _, c := range []struct {
		name  string
		label []string
		want  float64
	}{
		{"orosync_writer_events_relayed_total", nil, 3},
		{"orosync_writer_versions_applied_total", nil, 3}, // Bob's version, delivered again, is not applied twice
		{"orosync_writer_records_total", []string{"outcome", "created"}, 2},
		{"orosync_writer_records_total", []string{"outcome", "updated"}, 1},
		{"orosync_writer_records_total", []string{"outcome", "deleted"}, 0},
		{"orosync_writer_dead_letters_total", nil, 1},
		{"orosync_writer_relay_failures_total", nil, 0},
	} {
		if got := metricValue(t, reg, c.name, c.label...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.label, got, c.want)
		}
	}
	if n := metricValue(t, reg, "orosync_writer_batches_committed_total"); n < 2 {
		t.Errorf("%v batches committed, want at least 2", n)
	}
}
