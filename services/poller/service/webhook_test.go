package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/orosim"
	"github.com/orosync/orosync/services/poller/adapters"
)

func webhookReceiver(t *testing.T, f fixture, secret string) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/webhooks/{tenant}", adapters.WebhookReceiver{Publisher: adapters.RawPublisher{JS: f.js},
		Secrets: map[string]string{"acme": secret}})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/webhooks/acme"
}

func TestSignedWebhookIsPublishedWithinASecond(t *testing.T) {
	f := setup(t, 20)
	url := webhookReceiver(t, f, "hook-secret")
	if _, err := f.sim.AddWebhook(orosim.Webhook{NotificationURL: url, Topic: "contact.updated", Secret: "hook-secret", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := f.js.OrderedConsumer(ctx, events.StreamOroRaw, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"oro.raw.acme.contacts.7"}})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := f.sim.UpdateContact("7", map[string]any{"jobTitle": "Webhooked"}); err != nil {
		t.Fatal(err)
	}
	m, err := cons.Next(jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatalf("no message for contact 7 within 1 s: %v", err)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("published after %s", d)
	}
	var r events.RawRecord
	if err := json.Unmarshal(m.Data(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Via != "webhook" || !bytes.Contains(r.Resource, []byte("Webhooked")) || m.Headers().Get(events.HeaderMsgID) != r.MsgID() {
		t.Errorf("record %+v", r)
	}
}

func TestWebhookWithABadOrMissingSignatureIsRejectedAndNotPublished(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	f := fixtureFor(t, clk, orosim.New(orosim.Config{ClientID: "id", ClientSecret: "secret", Contacts: 5, Seed: 7, Now: clk.Now,
		Sleep: func(context.Context, time.Duration) error { return nil }})) // Oro's redeliveries of the 401 at once
	url := webhookReceiver(t, f, "hook-secret")
	body := []byte(`{"topic":"contact.updated","eventData":{"data":{"type":"contacts","id":"1","attributes":{"updatedAt":"2026-11-01T09:00:00Z"}}},"timestamp":1,"messageId":"x"}`)
	for name, sig := range map[string]string{"missing": "", "wrong": "00ff", "other secret": "9c1185a5c5e9fc54612808977ee8f548b2258d31"} {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if sig != "" {
			req.Header.Set("Webhook-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s signature: status %d, want 401", name, resp.StatusCode)
		}
	}
	// Oro's own delivery with the wrong secret configured on its side.
	if _, err := f.sim.AddWebhook(orosim.Webhook{NotificationURL: url, Topic: "contact.updated", Secret: "not-ours", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.UpdateContact("2", map[string]any{"jobTitle": "Forged"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = f.sim.WebhooksIdle(ctx)
	if n := f.stream(t).State.Msgs; n != 0 {
		t.Errorf("%d messages published from unsigned or forged deliveries", n)
	}
}
