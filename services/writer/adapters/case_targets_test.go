package adapters_test

import (
	"testing"

	"github.com/orosync/orosync/events"
)

// caseChange is Oro case id at version sec, on the given contact (its related contact), as the default mapping maps it.
func caseChange(id string, sec int, contactID string) events.Change {
	c := interactionChange("tasks", id, sec, "Case "+id, ref("contacts", contactID))
	c.Source.Type, c.Interaction.InteractionType = "cases", "case"
	return c
}

// About 6 % of the demo's activities target only cases. A case is an interaction on its contact or account, so an
// activity or note on a case lands on that person or company (the case kept as a waiting reference, so it follows
// the case), whatever order they arrive in.
func TestActivitiesAndNotesOnACaseLandOnTheCasesPersonOrCompany(t *testing.T) {
	e := newEnv(t, scope)
	e.apply(nil, contact{id: "1", first: "Ann", last: "Lee", email: "ann@example.com", sec: 1}.change(),
		contact{id: "2", first: "Bo", last: "Ek", email: "bo@example.com", sec: 1}.change())
	// Activity and note first, their case after.
	e.apply(nil, interactionChange("calls", "4", 10, "About the case", ref("cases", "5")),
		noteChange("6", 10, "Case note", ref("cases", "5")), noteChange("7", 10, "Both", ref("contacts", "1"), ref("cases", "5")))
	if _, ok := e.interaction("calls", "4"); ok {
		t.Fatal("an activity on a case not written yet was written")
	}
	e.apply(nil, caseChange("5", 10, "1"))
	ann, bo := e.person("1").entityID.String(), e.person("2").entityID.String()
	if r, ok := e.interaction("calls", "4"); !ok || r.entity != ann {
		t.Fatalf("activity on the case: %+v %v, want it on the case's person %s", r, ok, ann)
	}
	comments := func(body string) []string {
		var out []string
		rows, err := e.db.Query(e.ctx, `SELECT entity_id::text FROM customer_comments WHERE body = $1 AND deleted_at IS NULL ORDER BY 1`, body)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	if got := comments("Case note"); len(got) != 1 || got[0] != ann {
		t.Errorf("comments of the note on the case on %v, want one on %s", got, ann)
	}
	t.Run("a note on a person and that person's case gives one comment", func(t *testing.T) {
		if got := comments("Both"); len(got) != 1 || got[0] != ann {
			t.Errorf("comments on %v, want one on %s", got, ann)
		}
	})
	t.Run("follow their case to another contact", func(t *testing.T) {
		e.apply(nil, caseChange("5", 20, "2"))
		if r, _ := e.interaction("calls", "4"); r.entity != bo {
			t.Errorf("activity on %s after its case moved, want %s", r.entity, bo)
		}
		if got := comments("Case note"); len(got) != 1 || got[0] != bo {
			t.Errorf("comments of the note on the case on %v, want one on %s", got, bo)
		}
		if got := comments("Both"); len(got) != 2 {
			t.Errorf("comments of the note on Ann and the case on %v, want Ann's and Bo's", got)
		}
	})
}
