package service

import "testing"

func TestCursorTextShowsWhereEachStrategyStands(t *testing.T) {
	for raw, want := range map[string]string{
		`{"updatedAt":"2026-11-01T09:00:00Z","lastId":42}`:                             "2026-11-01T09:00:00Z #42",
		`{"strategy":"hash-scan","scanId":1200}`:                                       "scan after id 1200",
		`{"strategy":"hash-scan"}`:                                                     "scan idle",
		`{"strategy":"audit-log","baseline":true,"auditSince":"2026-11-01T09:00:05Z"}`: "audit log since 2026-11-01T09:00:05Z",
		`{"strategy":"audit-log","scanId":7,"auditSince":"2026-11-01T09:00:05Z"}`:      "baseline after id 7",
		`not json`: "?",
	} {
		if got := CursorText([]byte(raw)); got != want {
			t.Errorf("cursor %s: %q, want %q", raw, got, want)
		}
	}
}
