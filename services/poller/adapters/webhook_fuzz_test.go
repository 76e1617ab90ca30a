package adapters_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/poller/adapters"
)

// FuzzWebhookReceiver posts deliveries built from fuzzed parts (topic, data, timestamp offset, signature or not,
// tenant) to the receiver on a real JetStream server: it never panics, answers an unsigned or unknown one 401, a
// signed one 200 or a 4xx (never a 5xx: JetStream is up), and publishes only on a 200.
func FuzzWebhookReceiver(f *testing.F) {
	at := "2026-11-01T09:00:00Z"
	f.Add("contact.updated", `{"type":"contacts","id":"7","attributes":{"updatedAt":"`+at+`"}}`, int64(0), true, "acme")
	f.Add("contact.deleted", `{"type":"contacts","id":"7"}`, int64(-30), true, "acme")
	f.Add("user.updated", `{"type":"users","id":"1","attributes":{"updatedAt":"`+at+`"}}`, int64(0), true, "acme")
	f.Add("contact.updated", `{"type":"contacts","id":"7","attributes":{"updatedAt":"2099-01-01T00:00:00Z"}}`, int64(0), true, "acme")
	f.Add("contact.updated", `{"type":"contacts","id":"7","attributes":{"updatedAt":"`+at+`"}}`, int64(-3600), true, "acme")
	f.Add("contact.updated", `{"type":"contacts","id":"7","attributes":{"updatedAt":"`+at+`"}}`, int64(0), false, "acme")
	f.Add("contact.updated", `{"type":"contacts","id":"7","attributes":{"updatedAt":"`+at+`"}}`, int64(0), true, "globex")
	f.Add("contact.updated", `[`, int64(0), true, "acme")
	s := jstest.Start(f)
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	mux := http.NewServeMux()
	mux.Handle("/webhooks/{tenant}", adapters.WebhookReceiver{Publisher: adapters.RawPublisher{JS: s.JS},
		Now: func() time.Time { return now }, Log: quiet,
		Connections: map[string]adapters.WebhookConnection{"acme": {Secret: "hook-secret", Types: []string{"contacts"}}}})
	srv := httptest.NewServer(mux)
	f.Cleanup(srv.Close)
	f.Fuzz(func(t *testing.T, topic, data string, offset int64, sign bool, tenant string) {
		if !events.ValidToken(tenant) {
			return // not a path segment of the receiver
		}
		body := []byte(`{"topic":` + strconv.Quote(topic) + `,"eventData":{"data":` + data + `},"timestamp":` +
			strconv.FormatInt(now.Unix()+offset, 10) + `,"messageId":"m"}`)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/"+tenant, bytes.NewReader(body))
		if sign {
			mac := hmac.New(sha256.New, []byte("hook-secret"))
			mac.Write(body)
			req.Header.Set("Webhook-Signature", hex.EncodeToString(mac.Sum(nil)))
		}
		before := published(t, s)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		after := published(t, s)
		switch code := resp.StatusCode; {
		case (!sign || tenant != "acme") && code != http.StatusUnauthorized:
			t.Fatalf("unsigned or unknown: status %d, want 401 (%s)", code, body)
		case code >= 500:
			t.Fatalf("status %d for %s", code, body)
		case code != http.StatusOK && after != before:
			t.Fatalf("status %d but published (%s)", code, body)
		}
	})
}

func published(t *testing.T, s *jstest.Server) uint64 {
	t.Helper()
	st, err := s.JS.Stream(context.Background(), events.StreamOroRaw)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
