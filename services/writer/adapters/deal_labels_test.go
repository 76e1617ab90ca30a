package adapters_test

import (
	"testing"

	"github.com/orosync/orosync/events"
)

// An interaction's linked deal label is the deal's title whatever arrives first: the interaction, or the deal's
// rename (Mercato stores the label and never refreshes it; orosync keeps it at the current title so arrival order
// cannot change it).
func TestAnInteractionsDealLabelIsTheDealsTitleWhateverArrivesFirst(t *testing.T) {
	deal := func(sec int, title string) events.Change { return dealChange("9", sec, title, nil, nil) }
	task := interactionChange("tasks", "3", 10, "Call back", ref("contacts", "1"), ref("opportunities", "9"))
	ann := contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", sec: 1}.change()
	for _, order := range []struct {
		name   string
		stream []events.Change
	}{
		{"the rename after the interaction", []events.Change{ann, deal(10, "Deal v0"), task, deal(20, "Deal v1")}},
		{"the rename before the interaction", []events.Change{ann, deal(10, "Deal v0"), deal(20, "Deal v1"), task}},
		{"the renamed deal only", []events.Change{ann, deal(20, "Deal v1"), task, deal(10, "Deal v0")}},
	} {
		t.Run(order.name, func(t *testing.T) {
			e := newEnv(t, scope)
			for _, c := range order.stream {
				e.apply(nil, c)
			}
			in, ok := e.interaction("tasks", "3")
			if !ok {
				t.Fatal("no interaction written")
			}
			var labels []any
			for _, l := range in.linked {
				if l["type"] == "deal" {
					labels = append(labels, l["label"])
				}
			}
			if len(labels) != 1 || labels[0] != "Deal v1" {
				t.Errorf("deal labels %v, want [Deal v1]", labels)
			}
		})
	}
}
