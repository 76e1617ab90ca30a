package service_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"
)

// boundaryIDs are the contacts sharing the latest updatedAt second (the cursor's second after a full poll), in id
// order.
func (f fixture) boundaryIDs(t *testing.T) []string {
	t.Helper()
	var last time.Time
	var ids []string
	for _, id := range f.sim.ContactIDs() {
		at, ok := f.sim.UpdatedAt("contacts", id)
		switch {
		case !ok:
			t.Fatalf("contact %s has no updatedAt", id)
		case at.After(last):
			last, ids = at, []string{id}
		case at.Equal(last):
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int { n, _ := strconv.Atoi(a); m, _ := strconv.Atoi(b); return n - m })
	return ids
}

func TestARecordEditedAgainAfterSharingTheCursorsSecondIsPolled(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pageSize int
		lists    int // most list requests the second poll may make
	}{
		{"in one page", 1000, 1},
		// A page smaller than the second's rows: the stale rows fill it, ties are drained by id, then the rest.
		{"with the cursor's second over a page", 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, 20)
			f.pollOnce(t, tc.pageSize, nil)
			before := f.stream(t).State.Msgs
			shared := f.boundaryIDs(t)
			if len(shared) < 3 {
				t.Fatalf("the simulator's 20 contacts share no second with 3 ids (%v): the test needs one", shared)
			}
			edited := shared[0] // below the cursor's id: only a boundary list can tell it was read
			if err := f.sim.UpdateContact(edited, map[string]any{"jobTitle": "Edited again"}); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(5 * time.Second) // past the safety lag
			lists := f.sim.Requests()["GET /api/contacts"]
			f.pollOnce(t, tc.pageSize, nil)
			if got := f.stream(t).State.Msgs - before; got != 1 {
				t.Errorf("second poll published %d messages, want 1 (contact %s, edited after sharing the cursor's second %v)", got, edited, shared)
			}
			var res struct {
				Attributes struct {
					JobTitle string `json:"jobTitle"`
				} `json:"attributes"`
			}
			if err := json.Unmarshal(f.latest(t, "contacts", edited).Resource, &res); err != nil || res.Attributes.JobTitle != "Edited again" {
				t.Errorf("latest version of contact %s has jobTitle %q (%v), want the edit", edited, res.Attributes.JobTitle, err)
			}
			if n := f.sim.Requests()["GET /api/contacts"] - lists; n > tc.lists {
				t.Errorf("second poll made %d list requests, want at most %d", n, tc.lists)
			}
		})
	}
}
