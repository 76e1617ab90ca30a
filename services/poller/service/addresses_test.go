package service_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
	"github.com/orosync/orosync/services/poller/service"
)

// pollParts polls contacts once with the given parts scan interval.
func (f fixture) pollParts(t *testing.T, every time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := service.Run(ctx, service.Config{NatsURL: f.nat, PageSize: 7, Once: true, SafetyLag: time.Second, Now: f.clock.Now,
		PartsScanInterval: every, Tenants: map[string]service.Tenant{"acme": {Types: []string{"contacts"},
			Oro: oro.Config{BaseURL: f.url + "/api", ClientID: "id", ClientSecret: "secret"}}}})
	if err != nil {
		t.Fatal(err)
	}
}

// admin writes behind the poller's back through the simulator's admin endpoint.
func (f fixture) admin(t *testing.T, method, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.url+"/__admin/"+path, bytes.NewReader([]byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s", method, path, resp.Status)
	}
}

type addressRefs struct {
	Relationships struct {
		Addresses struct {
			Data []struct{ ID string } `json:"data"`
		} `json:"addresses"`
	} `json:"relationships"`
}

func TestContactsArePublishedWithTheirAddresses(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	f := fixtureFor(t, clk, orosim.New(orosim.Config{ClientID: "id", ClientSecret: "secret", Contacts: 30, Seed: 7, Now: clk.Now,
		Counts: map[string]int{}})) // Counts: the CRM around the contacts, their addresses included
	f.pollParts(t, time.Nanosecond)
	var owners []string
	for _, id := range f.sim.ContactIDs() {
		r := f.latest(t, "contacts", id)
		var res addressRefs
		_ = json.Unmarshal(r.Resource, &res)
		if len(res.Relationships.Addresses.Data) != len(r.Included) {
			t.Errorf("contact %s points to %d addresses and carries %d", id, len(res.Relationships.Addresses.Data), len(r.Included))
		}
		rh, _ := events.ResourceHash(r.Resource)
		if want, _ := events.RecordHash(rh, r.Included); r.PayloadHash != want {
			t.Errorf("contact %s: hash %s, want %s (the resource with its addresses)", id, r.PayloadHash, want)
		}
		if len(r.Included) > 0 {
			owners = append(owners, id)
		}
	}
	if len(owners) < 2 {
		t.Fatalf("%d of 30 seeded contacts have an address", len(owners))
	}
	published := f.stream(t).State.Msgs
	addressOf := func(owner string) string {
		var res addressRefs
		_ = json.Unmarshal(f.latest(t, "contacts", owner).Resource, &res)
		return res.Relationships.Addresses.Data[0].ID
	}
	t.Run("an edited address is a new version of its contact", func(t *testing.T) {
		before := f.latest(t, "contacts", owners[0])
		f.clock.Advance(5 * time.Second)
		f.admin(t, http.MethodPatch, "contactaddresses/"+addressOf(owners[0]), `{"street":"1 New Street"}`)
		f.clock.Advance(5 * time.Second)
		f.pollParts(t, time.Nanosecond)
		after := f.latest(t, "contacts", owners[0])
		if len(after.Included) != 1 || !bytes.Contains(after.Included[0], []byte("1 New Street")) {
			t.Fatalf("contact %s carries %s", owners[0], after.Included)
		}
		if !after.UpdatedAt.After(*before.UpdatedAt) {
			t.Errorf("version %v is not after %v: the writer would keep the old address", after.UpdatedAt, before.UpdatedAt)
		}
	})
	t.Run("a removed address is a newer version without it", func(t *testing.T) {
		before := f.latest(t, "contacts", owners[1])
		f.clock.Advance(5 * time.Second)
		f.admin(t, http.MethodDelete, "contactaddresses/"+addressOf(owners[1]), "")
		f.clock.Advance(5 * time.Second)
		f.pollParts(t, time.Nanosecond)
		after := f.latest(t, "contacts", owners[1])
		if len(after.Included) != 0 || !after.UpdatedAt.After(*before.UpdatedAt) {
			t.Errorf("contact %s: version %v with %d addresses after %v", owners[1], after.UpdatedAt, len(after.Included), before.UpdatedAt)
		}
	})
	if got := f.stream(t).State.Msgs - published; got != 2 {
		t.Errorf("%d new versions, want one per changed contact", got)
	}
	t.Run("an unchanged type publishes nothing", func(t *testing.T) {
		n := f.stream(t).State.Msgs
		f.clock.Advance(5 * time.Second)
		f.pollParts(t, time.Nanosecond)
		if got := f.stream(t).State.Msgs; got != n {
			t.Errorf("%d messages, want %d", got, n)
		}
	})
	t.Run("without the parts scan an address edit goes unseen", func(t *testing.T) {
		n := f.stream(t).State.Msgs
		f.admin(t, http.MethodPatch, "contactaddresses/"+addressOf(owners[0]), `{"city":"Elsewhere"}`)
		f.clock.Advance(5 * time.Second)
		f.pollParts(t, time.Hour)
		if got := f.stream(t).State.Msgs; got != n {
			t.Errorf("%d messages, want %d: the keyset on contacts cannot see the address", got, n)
		}
	})
}

// A webhook delivery carries the contact alone unless Oro included its addresses: published as it is, the
// version would say the addresses are gone.
func TestAWebhookOfAContactWithAddressesIsPublishedOnlyWithThem(t *testing.T) {
	f := setup(t, 3)
	url := webhookReceiver(t, f, "hook-secret")
	contact := `"data":{"type":"contacts","id":"2","attributes":{"firstName":"Ann","updatedAt":"2026-11-01T09:00:00Z"},` +
		`"relationships":{"addresses":{"data":[{"type":"contactaddresses","id":"9"}]}}}`
	address := `"included":[{"type":"contactaddresses","id":"9","attributes":{"street":"1 Main St","updatedAt":"2026-11-01T09:00:30Z"}}]`
	post := func(eventData string) {
		t.Helper()
		body := []byte(`{"topic":"contact.updated","eventData":{` + eventData + `},"timestamp":` +
			strconv.FormatInt(f.clock.Now().Unix(), 10) + `,"messageId":"m"}`)
		mac := hmac.New(sha256.New, []byte("hook-secret"))
		mac.Write(body)
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Webhook-Signature", hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	post(contact)
	if n := f.stream(t).State.Msgs; n != 0 {
		t.Fatalf("%d messages from a delivery without the contact's addresses", n)
	}
	post(contact + "," + address)
	r := f.latest(t, "contacts", "2")
	if r.Via != "webhook" || len(r.Included) != 1 || r.UpdatedAt.Format(time.RFC3339) != "2026-11-01T09:00:30Z" {
		t.Errorf("published %+v", r)
	}
}
