package oro

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestBudgetMetricsArePerConnection(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBudget("acme", 6000, 10, m)
	for range 3 {
		rel, err := b.Wait(context.Background(), PriorityDelta)
		if err != nil {
			t.Fatal(err)
		}
		rel()
	}
	b.Pause(time.Millisecond, "429")
	want := `
# HELP orosync_oro_requests_total Oro API requests sent, by priority.
# TYPE orosync_oro_requests_total counter
orosync_oro_requests_total{connection="acme",priority="delta"} 3
# HELP orosync_oro_throttled_total 429/503 answers honoured with a pause (Retry-After).
# TYPE orosync_oro_throttled_total counter
orosync_oro_throttled_total{connection="acme"} 1
# HELP orosync_oro_budget_per_minute Configured Oro request budget per minute (0: unlimited).
# TYPE orosync_oro_budget_per_minute gauge
orosync_oro_budget_per_minute{connection="acme"} 6000
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "orosync_oro_requests_total", "orosync_oro_throttled_total", "orosync_oro_budget_per_minute"); err != nil {
		t.Error(err)
	}
}
