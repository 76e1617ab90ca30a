package orosim

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook endpoint that records deliveries and answers with
// the queued replies (then 200).
type receiver struct {
	mu      sync.Mutex
	got     []received
	replies []func(http.ResponseWriter)
	srv     *httptest.Server
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, replies ...func(http.ResponseWriter)) *receiver {
	rc := &receiver{replies: replies}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Clone(), b})
		var reply func(http.ResponseWriter)
		if len(rc.replies) > 0 {
			reply, rc.replies = rc.replies[0], rc.replies[1:]
		}
		rc.mu.Unlock()
		if reply != nil {
			reply(w)
		}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) deliveries() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func idle(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WebhooksIdle(ctx); err != nil {
		t.Fatal(err)
	}
}

// sleeps records the waits between delivery attempts instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) Sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func TestWebhookDeliversSignedEventOnCreate(t *testing.T) {
	h := newHarness(t, Config{Contacts: 2})
	rc := newReceiver(t)
	if _, err := h.sim.AddWebhook(Webhook{NotificationURL: rc.srv.URL, Topic: "contact.created", Secret: "shh", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	id, _ := h.sim.CreateContact(map[string]any{"firstName": "Ada"})
	_ = h.sim.UpdateContact("1", map[string]any{"firstName": "Not subscribed"})
	idle(t, h.sim)
	got := rc.deliveries()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1", len(got))
	}
	d := got[0]
	if d.header.Get("Webhook-Topic") != "contact.created" ||
		d.header.Get("Webhook-Signature-Algorithm") != "HMAC-SHA256" || d.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", d.header)
	}
	mac := hmac.New(sha256.New, []byte("shh"))
	mac.Write(d.body)
	if d.header.Get("Webhook-Signature") != hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("signature %q does not match the body", d.header.Get("Webhook-Signature"))
	}
	var body struct {
		Topic     string `json:"topic"`
		EventData struct {
			Data struct {
				Type       string         `json:"type"`
				ID         string         `json:"id"`
				Attributes map[string]any `json:"attributes"`
			} `json:"data"`
		} `json:"eventData"`
		Timestamp int64  `json:"timestamp"`
		MessageID string `json:"messageId"`
	}
	if err := json.Unmarshal(d.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Topic != "contact.created" || body.EventData.Data.Type != "contacts" || body.EventData.Data.ID != id ||
		body.EventData.Data.Attributes["firstName"] != "Ada" || body.Timestamp != h.clock.Now().Unix() {
		t.Errorf("body %s", d.body)
	}
	// Oro's WebhookNotifier: a UUID v4 message id, which the Webhook-Id header carries too.
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(body.MessageID) ||
		d.header.Get("Webhook-Id") != body.MessageID {
		t.Errorf("message id %q, Webhook-Id %q: want one UUID v4 in both", body.MessageID, d.header.Get("Webhook-Id"))
	}
}

func TestWebhookDeliveries(t *testing.T) {
	h := newHarness(t, Config{Contacts: 3})
	rc := newReceiver(t)
	off := newReceiver(t)
	_, _ = h.sim.AddWebhook(Webhook{NotificationURL: rc.srv.URL, Topic: "contact.deleted", Enabled: true})
	_, _ = h.sim.AddWebhook(Webhook{NotificationURL: off.srv.URL, Topic: "contact.deleted"})
	_, _ = h.sim.AddWebhook(Webhook{NotificationURL: rc.srv.URL, Topic: "contact.updated.2", Enabled: true})
	_ = h.sim.DeleteContact("3")
	_ = h.sim.UpdateContact("1", map[string]any{"jobTitle": "CTO"}) // other id: not delivered
	_ = h.sim.UpdateContact("2", map[string]any{"jobTitle": "CTO"})
	idle(t, h.sim)
	t.Run("without a secret go unsigned, to the matching topics only", func(t *testing.T) {
		got := rc.deliveries()
		if len(got) != 2 || got[0].header.Get("Webhook-Topic") != "contact.deleted" || got[0].header.Get("Webhook-Signature") != "" ||
			!strings.Contains(string(got[0].body), `"id":"3"`) || !strings.Contains(string(got[1].body), `"id":"2"`) {
			t.Errorf("deliveries %d: %v", len(got), got)
		}
	})
	t.Run("of a disabled webhook do not happen", func(t *testing.T) {
		if n := len(off.deliveries()); n != 0 {
			t.Errorf("disabled webhook got %d deliveries", n)
		}
	})
}

func TestWebhookRetriesHonourRetryAfter(t *testing.T) {
	sl := &sleeps{}
	h := newHarness(t, Config{Contacts: 1, Sleep: sl.Sleep})
	rc := newReceiver(t,
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
		},
		func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) },
		func(w http.ResponseWriter) { w.WriteHeader(http.StatusTooManyRequests) },
	)
	_, _ = h.sim.AddWebhook(Webhook{NotificationURL: rc.srv.URL, Topic: "contact.updated", Enabled: true})
	_ = h.sim.UpdateContact("1", map[string]any{"jobTitle": "CTO"})
	idle(t, h.sim)
	if n := len(rc.deliveries()); n != 4 {
		t.Fatalf("%d attempts, want 4", n)
	}
	want := []time.Duration{7 * time.Second, 2 * time.Second, 4 * time.Second}
	if len(sl.d) != 3 || sl.d[0] != want[0] || sl.d[1] != want[1] || sl.d[2] != want[2] {
		t.Errorf("waits %v, want %v (Retry-After, then backoff)", sl.d, want)
	}
	if string(rc.deliveries()[0].body) != string(rc.deliveries()[3].body) {
		t.Errorf("a retry must resend the same message")
	}
}

func TestWebhookIsNotDeliveredAgainAfterAnAnswerOroDoesNotRetry(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusUnprocessableEntity,
		http.StatusInternalServerError, http.StatusGatewayTimeout} {
		sl := &sleeps{}
		h := newHarness(t, Config{Contacts: 1, Sleep: sl.Sleep})
		rc := newReceiver(t, func(w http.ResponseWriter) { w.WriteHeader(status) })
		_, _ = h.sim.AddWebhook(Webhook{NotificationURL: rc.srv.URL, Topic: "contact.updated", Enabled: true})
		_ = h.sim.UpdateContact("1", map[string]any{"jobTitle": "CTO"})
		idle(t, h.sim)
		if n := len(rc.deliveries()); n != 1 || len(sl.d) != 0 {
			t.Errorf("status %d: %d attempts, %d waits; want 1 and none (a POST is retried on 423, 425, 429, 502, 503 only)",
				status, n, len(sl.d))
		}
	}
}

func TestWebhookGoneReplyDeletesTheWebhook(t *testing.T) {
	h := newHarness(t, Config{Contacts: 2})
	rc := newReceiver(t, func(w http.ResponseWriter) { w.WriteHeader(http.StatusGone) })
	_, _ = h.sim.AddWebhook(Webhook{NotificationURL: rc.srv.URL, Topic: "contact.updated", Enabled: true})
	_ = h.sim.UpdateContact("1", map[string]any{"jobTitle": "CTO"})
	idle(t, h.sim)
	_ = h.sim.UpdateContact("2", map[string]any{"jobTitle": "CTO"})
	idle(t, h.sim)
	if n := len(rc.deliveries()); n != 1 {
		t.Errorf("%d deliveries, want 1 (then the webhook is gone)", n)
	}
	if hooks := h.sim.Webhooks(); len(hooks) != 0 {
		t.Errorf("webhooks left: %v", hooks)
	}
}

func TestWebhooksResourceThroughAPI(t *testing.T) {
	h := newHarness(t, Config{Contacts: 1})
	rc := newReceiver(t)
	post := func(body string) (*http.Response, map[string]any) {
		resp, b := h.do(http.MethodPost, "/api/webhooks", strings.NewReader(body),
			"Authorization", "Bearer "+h.token, "Content-Type", mediaType)
		var d map[string]any
		_ = json.Unmarshal(b, &d)
		return resp, d
	}
	resp, d := post(`{"data":{"type":"webhooks","attributes":{"notificationUrl":"` + rc.srv.URL + `","secret":"k"},` +
		`"relationships":{"topic":{"data":{"type":"webhooktopics","id":"contact.created"}}}}}`)
	if resp.StatusCode != http.StatusCreated || !strings.HasSuffix(resp.Header.Get("Location"), "/api/webhooks/1") {
		t.Fatalf("create: %d %v Location %q", resp.StatusCode, d, resp.Header.Get("Location"))
	}
	a := attrs(d["data"])
	if a["enabled"] != true || a["verifySsl"] != true || a["secret"] != nil {
		t.Errorf("created webhook attributes %v (secret is write-only)", a)
	}
	list, _ := h.getDoc("/api/webhooks", http.StatusOK)
	if got := ids(list); len(got) != 1 || got[0] != "1" {
		t.Errorf("list %v", got)
	}
	_, _ = h.sim.CreateContact(map[string]any{"firstName": "Via API"})
	idle(t, h.sim)
	if got := rc.deliveries(); len(got) != 1 || got[0].header.Get("Webhook-Signature") == "" {
		t.Errorf("deliveries %v", got)
	}

	// Validation: a URL and a known topic are required.
	resp, d = post(`{"data":{"type":"webhooks","attributes":{},"relationships":{"topic":{"data":{"type":"webhooktopics","id":"spaceship.created"}}}}}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("invalid webhook: %d %v", resp.StatusCode, d)
	}
	pointers := map[string]bool{}
	for _, e := range d["errors"].([]any) {
		pointers[e.(map[string]any)["source"].(map[string]any)["pointer"].(string)] = true
	}
	if !pointers["/data/attributes/notificationUrl"] || !pointers["/data/relationships/topic/data"] {
		t.Errorf("pointers %v", pointers)
	}

	resp, b := h.do(http.MethodPatch, "/api/webhooks/1", strings.NewReader(`{"data":{"type":"webhooks","id":"1","attributes":{"enabled":false}}}`),
		"Authorization", "Bearer "+h.token, "Content-Type", mediaType)
	if resp.StatusCode != http.StatusOK || h.sim.Webhooks()[0].Enabled {
		t.Errorf("disable: %d %s", resp.StatusCode, b)
	}
	if resp, _ := h.do(http.MethodDelete, "/api/webhooks/1", nil, "Authorization", "Bearer "+h.token); resp.StatusCode != http.StatusNoContent {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	h.getDoc("/api/webhooks/1", http.StatusNotFound)
	if resp, _ := h.do(http.MethodPut, "/api/webhooks", nil, "Authorization", "Bearer "+h.token); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
		t.Errorf("PUT: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestAdminWebhooks(t *testing.T) {
	h := newHarness(t, Config{Contacts: 3})
	rc := newReceiver(t)
	resp, body := h.do(http.MethodPost, "/__admin/webhooks", strings.NewReader(`{"notificationUrl":"`+rc.srv.URL+`","topic":"contact.deleted","format":"thin"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("admin create: %d %s", resp.StatusCode, body)
	}
	t.Run("refuse an unknown topic", func(t *testing.T) {
		if resp, body := h.do(http.MethodPost, "/__admin/webhooks", strings.NewReader(`{"notificationUrl":"x","topic":"nope"}`)); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("bad topic: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("fire on an admin delete", func(t *testing.T) {
		h.do(http.MethodDelete, "/__admin/contacts/2", nil)
		idle(t, h.sim)
		got := rc.deliveries()
		if len(got) != 1 || !strings.Contains(string(got[0].body), `"eventData":{"data":{"type":"contacts","id":"2"}}`) {
			t.Errorf("thin delete event: %v", got)
		}
	})
	t.Run("are listed", func(t *testing.T) {
		_, body = h.do(http.MethodGet, "/__admin/webhooks", nil)
		if !strings.Contains(string(body), `"topic":"contact.deleted"`) {
			t.Errorf("admin list %s", body)
		}
	})
	t.Run("are removed", func(t *testing.T) {
		if resp, _ := h.do(http.MethodDelete, "/__admin/webhooks/1", nil); resp.StatusCode != http.StatusNoContent {
			t.Errorf("admin delete: %d", resp.StatusCode)
		}
	})
}
