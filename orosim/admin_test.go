package orosim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAdminPatch(t *testing.T) {
	h := newHarness(t, Config{Contacts: 5})
	h.clock.Advance(30 * time.Minute)
	resp, body := h.do(http.MethodPatch, "/__admin/contacts/2",
		strings.NewReader(`{"firstName":"Zoë","emails":[{"email":"zoe@example.com"}],"primaryEmail":"zoe@example.com","updatedAt":"1999-01-01T00:00:00Z"}`))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	d, _ := h.getDoc("/api/contacts/2", http.StatusOK)
	a := attrs(d["data"])
	want := h.clock.Now().Format(oroDateTime)
	t.Run("updates the attributes, updatedAt to now", func(t *testing.T) {
		if a["firstName"] != "Zoë" || a["primaryEmail"] != "zoe@example.com" || a["updatedAt"] != want {
			t.Errorf("after PATCH: %v (want updatedAt %s)", a, want)
		}
	})
	// The poller finds it with a cursor at the edit time.
	t.Run("is found by a cursor at the edit time", func(t *testing.T) {
		if got := h.listIDs("/api/contacts?filter[updatedAt][gte]=" + want); !slices.Equal(got, []string{"2"}) {
			t.Errorf("changed since %s: %v", want, got)
		}
	})
}

func TestAdminPatchRefusals(t *testing.T) {
	h := newHarness(t, Config{Contacts: 2})
	t.Run("of unknown fields, records, types", func(t *testing.T) {
		for path, status := range map[string]int{
			"/__admin/contacts/1":  http.StatusBadRequest, // unknown field
			"/__admin/contacts/99": http.StatusNotFound,
			"/__admin/nope/1":      http.StatusNotFound,
		} {
			resp, body := h.do(http.MethodPatch, path, strings.NewReader(`{"shoeSize":42}`))
			if resp.StatusCode != status {
				t.Errorf("%s: status %d, want %d: %s", path, resp.StatusCode, status, body)
			}
		}
	})
	// Oro requires a contact to keep a name, an email or a phone.
	t.Run("of a contact left without name, email, phone", func(t *testing.T) {
		resp, body := h.do(http.MethodPatch, "/__admin/contacts/1",
			strings.NewReader(`{"firstName":null,"lastName":null,"emails":[],"phones":[]}`))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("emptying a contact: status %d: %s", resp.StatusCode, body)
		}
	})
}

func TestUpdateContactKeepsPrimaryEmailConsistent(t *testing.T) {
	h := newHarness(t, Config{Contacts: 2})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(h.sim.UpdateContact("1", map[string]any{"emails": []string{"a@x.test", "b@x.test"}, "primaryEmail": "b@x.test"}))
	// Removing the primary address clears primaryEmail.
	must(h.sim.UpdateContact("1", map[string]any{"emails": []any{map[string]any{"email": "a@x.test"}}}))
	d, _ := h.getDoc("/api/contacts/1", http.StatusOK)
	if a := attrs(d["data"]); a["primaryEmail"] != nil {
		t.Errorf("primaryEmail %v after removing it from emails", a["primaryEmail"])
	}
	// Setting a new primary address adds it to emails.
	must(h.sim.UpdateContact("1", map[string]any{"primaryEmail": "c@x.test"}))
	d, _ = h.getDoc("/api/contacts/1", http.StatusOK)
	if got, _ := json.Marshal(attrs(d["data"])["emails"]); string(got) != `[{"email":"a@x.test"},{"email":"c@x.test"}]` {
		t.Errorf("emails %s", got)
	}
	if err := h.sim.UpdateContact("99", map[string]any{"firstName": "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing contact: %v", err)
	}
	if err := h.sim.UpdateContact("1", map[string]any{"birthday": "yesterday"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad birthday: %v", err)
	}
}

func TestAdminDeleteRemovesContactForGood(t *testing.T) {
	h := newHarness(t, Config{Contacts: 5})
	resp, _ := h.do(http.MethodDelete, "/__admin/contacts/3", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	h.getDoc("/api/contacts/3", http.StatusNotFound)
	if got := h.listIDs("/api/contacts"); !slices.Equal(got, []string{"1", "2", "4", "5"}) {
		t.Errorf("ids %v", got)
	}
	if got := h.sim.ContactIDs(); !slices.Equal(got, []string{"1", "2", "4", "5"}) {
		t.Errorf("ContactIDs %v", got)
	}
	if resp, _ := h.do(http.MethodDelete, "/__admin/contacts/3", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second delete: %d", resp.StatusCode)
	}
	if err := h.sim.DeleteContact("3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteContact twice: %v", err)
	}
	// Ids are never reused, like an auto-increment column.
	id, err := h.sim.CreateContact(map[string]any{"lastName": "Neu"})
	if err != nil || id != "6" {
		t.Errorf("CreateContact: %q, %v", id, err)
	}
}

func TestAdminStatsCountsContacts(t *testing.T) {
	h := newHarness(t, Config{Contacts: 12})
	h.sim.DeleteContact("4")
	resp, body := h.do(http.MethodPost, "/__admin/contacts", strings.NewReader(`{"firstName":"Ğül"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	_, body = h.do(http.MethodGet, "/__admin/stats", nil)
	if string(body) != `{"contacts":12}` {
		t.Errorf("stats %s", body)
	}
	if h.sim.Count("contacts") != 12 || h.sim.Count("accounts") != 0 {
		t.Errorf("Count: %d %d", h.sim.Count("contacts"), h.sim.Count("accounts"))
	}
}

func TestConcurrentEditsWhilePaging(t *testing.T) {
	h := newHarness(t, Config{Contacts: 300})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			id := fmt.Sprint(1 + i%300)
			_ = h.sim.UpdateContact(id, map[string]any{"jobTitle": fmt.Sprint("title ", i)})
			if i%50 == 49 && h.sim.DeleteContact(id) == nil {
				_, _ = h.sim.CreateContact(map[string]any{"firstName": "New"})
			}
		}
	}()
	for round := 0; round < 5; round++ {
		url := "/api/contacts?sort=updatedAt,id&page[size]=50"
		for url != "" {
			resp, err := http.Get(h.srv.URL + "/__admin/stats")
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			d, _ := h.getDoc(url, http.StatusOK)
			next, _ := d["links"].(map[string]any)["next"].(string)
			url = strings.TrimPrefix(next, h.srv.URL)
		}
	}
	cancel()
	wg.Wait()
}

func TestStartServesOnLoopbackUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	run, err := Start(ctx, Config{ClientID: "a", ClientSecret: "b", Contacts: 3}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(run.URL + "/__admin/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || run.Count("contacts") != 3 {
		t.Errorf("status %d", resp.StatusCode)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := http.Get(run.URL + "/__admin/stats"); err != nil {
			return // stopped
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Error("server still answering after cancel")
}
