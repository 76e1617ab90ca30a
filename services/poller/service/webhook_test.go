package service_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/orosim"
	"github.com/orosync/orosync/services/poller/adapters"
)

// webhookReceiver receives acme's deliveries of contacts (and accounts), on the simulator's clock.
func webhookReceiver(t *testing.T, f fixture, secret string) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/webhooks/{tenant}", adapters.WebhookReceiver{Publisher: adapters.RawPublisher{JS: f.js}, Now: f.clock.Now,
		Connections: map[string]adapters.WebhookConnection{"acme": {Secret: secret, Types: []string{"contacts", "accounts"}}}})
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

func TestAWebhookWithABadOrMissingSignature(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	f := fixtureFor(t, clk, orosim.New(orosim.Config{ClientID: "id", ClientSecret: "secret", Contacts: 5, Seed: 7, Now: clk.Now,
		Sleep: func(context.Context, time.Duration) error { return nil }})) // Oro's redeliveries of the 401 at once
	url := webhookReceiver(t, f, "hook-secret")
	body := []byte(`{"topic":"contact.updated","eventData":{"data":{"type":"contacts","id":"1","attributes":{"updatedAt":"2026-11-01T09:00:00Z"}}},"timestamp":1,"messageId":"x"}`)
	t.Run("is rejected", func(t *testing.T) {
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
	})
	t.Run("publishes nothing", func(t *testing.T) {
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
	})
}

// post sends body to url signed with secret ("" unsigned) and returns the status and the answer's body.
func post(t *testing.T, url, secret string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if secret != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		req.Header.Set("Webhook-Signature", hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// delivery is a body as Oro sends it: topic, eventData, timestamp (Unix seconds), messageId.
func delivery(topic string, sentAt time.Time, data string) []byte {
	return []byte(`{"topic":"` + topic + `","eventData":{"data":` + data + `},"timestamp":` + strconv.FormatInt(sentAt.Unix(), 10) +
		`,"messageId":"6f1c2a9e-7b1d-4c52-9a51-3d2e8f0b7c11"}`)
}

func contactData(id, updatedAt string) string {
	return `{"type":"contacts","id":"` + id + `","attributes":{"firstName":"Ann","updatedAt":"` + updatedAt + `"}}`
}

func TestSignedWebhooksOroMustNotRetry(t *testing.T) {
	f := setup(t, 3)
	url := webhookReceiver(t, f, "hook-secret")
	now := f.clock.Now()
	at := now.UTC().Format(time.RFC3339)
	t.Run("are refused with a 4xx", func(t *testing.T) {
		for name, body := range map[string][]byte{
			"replayed an hour later":  delivery("contact.updated", now.Add(-time.Hour), contactData("2", at)),
			"sent from the future":    delivery("contact.updated", now.Add(time.Hour), contactData("2", at)),
			"without a timestamp":     []byte(`{"topic":"contact.updated","eventData":{"data":` + contactData("2", at) + `},"messageId":"m"}`),
			"of a type not synced":    delivery("user.updated", now, `{"type":"users","id":"1","attributes":{"updatedAt":"`+at+`"}}`),
			"of a type not a subject": delivery("contact.updated", now, `{"type":"con tacts","id":"1","attributes":{"updatedAt":"`+at+`"}}`),
			"not of its topic":        delivery("account.updated", now, contactData("2", at)),
			"updated in 2099":         delivery("contact.updated", now, contactData("2", "2099-01-01T00:00:00Z")),
			"not one resource":        delivery("contact.updated", now, `[1,2]`),
		} {
			if status, _ := post(t, url, "hook-secret", body); status < 400 || status >= 500 || status == http.StatusGone {
				t.Errorf("%s: status %d, want a 4xx Oro does not retry (not 410, which deletes the webhook)", name, status)
			}
		}
	})
	t.Run("are not published", func(t *testing.T) {
		if n := f.stream(t).State.Msgs; n != 0 {
			t.Errorf("%d messages published from refused deliveries", n)
		}
	})

	t.Run("a delivery within the window is published", func(t *testing.T) {
		body := delivery("contact.updated", now.Add(-4*time.Minute), contactData("2", now.Add(-4*time.Minute).UTC().Format(time.RFC3339)))
		if status, answer := post(t, url, "hook-secret", body); status != http.StatusOK {
			t.Fatalf("status %d %s", status, answer)
		}
		if n := f.stream(t).State.Msgs; n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
	})
}

func TestAnUnknownTenantIsAnsweredAsABadSignatureIs(t *testing.T) {
	f := setup(t, 3)
	url := webhookReceiver(t, f, "hook-secret")
	body := delivery("contact.updated", f.clock.Now(), contactData("2", f.clock.Now().UTC().Format(time.RFC3339)))
	badStatus, badAnswer := post(t, url, "not-the-secret", body)
	unknownStatus, unknownAnswer := post(t, strings.Replace(url, "/webhooks/acme", "/webhooks/globex", 1), "hook-secret", body)
	if badStatus != http.StatusUnauthorized || unknownStatus != badStatus || unknownAnswer != badAnswer {
		t.Errorf("bad signature: %d %q; unknown tenant: %d %q; want one 401 answer for both", badStatus, badAnswer,
			unknownStatus, unknownAnswer)
	}
}
