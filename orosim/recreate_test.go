package orosim

import (
	"slices"
	"testing"
)

func TestARecordRecreatedWithItsOldID(t *testing.T) {
	s := New(Config{ClientID: "id", ClientSecret: "secret", Contacts: 5, Seed: 1})
	if err := s.DeleteContact("3"); err != nil {
		t.Fatal(err)
	}
	if err := s.RecreateRecord("contacts", "3", map[string]any{"firstName": "Again", "lastName": "Three"}); err != nil {
		t.Fatal(err)
	}
	t.Run("is listed in id order", func(t *testing.T) {
		if got := s.ContactIDs(); !slices.Equal(got, []string{"1", "2", "3", "4", "5"}) {
			t.Errorf("ids %v", got)
		}
	})
	t.Run("cannot replace a live one", func(t *testing.T) {
		if err := s.RecreateRecord("contacts", "3", nil); err == nil {
			t.Error("recreating a live id accepted")
		}
	})
	t.Run("is audited", func(t *testing.T) {
		var actions []string
		for _, e := range s.audit.snapshot() {
			if e.ObjectID == 3 {
				actions = append(actions, e.Action)
			}
		}
		if !slices.Equal(actions, []string{"remove", "create"}) {
			t.Errorf("audit of contact 3: %v", actions)
		}
	})
	t.Run("leaves the next id alone", func(t *testing.T) {
		if id, _ := s.CreateContact(map[string]any{"firstName": "New", "lastName": "Six"}); id != "6" {
			t.Errorf("next id %s", id)
		}
	})
}
