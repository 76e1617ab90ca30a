package service

import (
	"runtime/debug"
	"testing"
)

func currentGCPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestTransformerRaisesGCPercentUnlessTheOperatorSetGOGC(t *testing.T) {
	before := currentGCPercent()
	for _, tc := range []struct {
		name string
		gogc string
		cfg  Config
		want int
	}{
		{"default", "", Config{}, DefaultGCPercent},
		{"configured", "", Config{GCPercent: 250}, 250},
		{"kept", "", Config{GCPercent: -1}, before},
		{"operator's GOGC", "50", Config{GCPercent: 250}, before},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			restore := gcPercent(tc.cfg)
			got := currentGCPercent()
			restore()
			if got != tc.want {
				t.Errorf("GC percent while running %d, want %d", got, tc.want)
			}
			if after := currentGCPercent(); after != before {
				t.Errorf("GC percent after %d, want it restored to %d", after, before)
			}
		})
	}
}
