package domain

import (
	"strings"
	"testing"
	"time"
)

func TestTheCheapestWorkingStrategyIsChosenWithItsReason(t *testing.T) {
	for _, tc := range []struct {
		name   string
		caps   Capabilities
		want   Strategy
		reason string
	}{
		{"updatedAt usable", Capabilities{FilterUpdatedAt: true, SortUpdatedAt: true, Audited: true, AuditAccess: true}, Keyset, "→ keyset"},
		{"filter without sort", Capabilities{FilterUpdatedAt: true, Audited: true, AuditAccess: true}, AuditLog, "audit log readable"},
		{"audit forbidden", Capabilities{Audited: true, AuditNote: "403 forbidden"}, HashScan, "audit log: 403 forbidden → hash scan"},
		{"not audited", Capabilities{}, HashScan, "not audited by Oro → hash scan"},
		{"webhooks", Capabilities{Audited: true, AuditAccess: true, Webhooks: true}, AuditLog, "webhooks subscribed → webhooks primary, audit-log as the safety net"},
	} {
		c := Choose(tc.caps)
		if c.Strategy != tc.want || !strings.Contains(c.Reason, tc.reason) || c.Webhooks != tc.caps.Webhooks {
			t.Errorf("%s: %+v, want %s with %q", tc.name, c, tc.want, tc.reason)
		}
	}
}

func TestAuditRowsInTheOverlapWindowAreHandledOnce(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	c := AuditAdvance(Cursor{AuditSince: t0}, []AuditMark{{ID: 5, At: t0.Add(10 * time.Second)}, {ID: 6, At: t0.Add(20 * time.Second)}}, time.Minute)
	if !c.AuditSince.Equal(t0.Add(20*time.Second)) || !AuditSeen(c, 5) || !AuditSeen(c, 6) || AuditSeen(c, 7) {
		t.Fatalf("%+v", c)
	}
	if from := AuditFrom(c, time.Minute); !from.Equal(t0.Add(-40 * time.Second)) {
		t.Errorf("next read from %s", from)
	}
	// A late row (written by Oro's queue after newer ones) with an earlier loggedAt is inside the window.
	c = AuditAdvance(c, []AuditMark{{ID: 4, At: t0.Add(5 * time.Second)}}, time.Minute)
	if !AuditSeen(c, 4) || !c.AuditSince.Equal(t0.Add(20*time.Second)) {
		t.Errorf("%+v", c)
	}
	// Marks older than the window are dropped.
	c = AuditAdvance(c, []AuditMark{{ID: 9, At: t0.Add(5 * time.Minute)}}, time.Minute)
	if AuditSeen(c, 5) || !AuditSeen(c, 9) || len(c.AuditSeen) != 1 {
		t.Errorf("%+v", c.AuditSeen)
	}
}

func TestProgressEstimatesTheTimeLeftFromTheRunsRate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	p := SyncProgress{Total: -1}.Step(10_000, 1000, false, t0)
	p = p.Step(-1, 3000, false, t0.Add(10*time.Second))
	// 3,000 in 10 s: 300/s, 7,000 left.
	if p.Total != 10_000 || p.Percent() != 30 || p.PerSecond != 300 || p.ETA.Round(time.Second) != 23*time.Second {
		t.Errorf("%+v", p)
	}
	if p = p.Step(-1, 10_000, true, t0.Add(30*time.Second)); p.ETA != 0 || p.Percent() != 100 {
		t.Errorf("caught up: %+v", p)
	}
}
