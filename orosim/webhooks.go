package orosim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Webhook is an Oro webhook subscription (IntegrationBundle `webhooks`,
// reference §7): Oro POSTs every event of Topic to NotificationURL.
type Webhook struct {
	ID              string `json:"id"`
	NotificationURL string `json:"notificationUrl"`
	Topic           string `json:"topic"`            // e.g. "contact.created" or "contact.updated.42"
	Format          string `json:"format,omitempty"` // "default" (full document) or "thin" (type and id only)
	Secret          string `json:"secret,omitempty"` // write-only in the API; signs deliveries when set
	Enabled         bool   `json:"enabled"`
	VerifySSL       bool   `json:"verifySsl"`
}

// delivery is one queued webhook POST.
type delivery struct {
	hookID    string
	topic     string
	messageID string
	body      []byte
}

// webhookState holds subscriptions and the delivery queue. One worker
// delivers in order, like a single message-queue consumer; it runs only
// while the queue has work.
type webhookState struct {
	s       *Server
	mu      sync.Mutex
	hooks   map[string]*Webhook
	nextID  int64
	queue   []delivery
	running bool
	idle    chan struct{} // closed while nothing is queued or in flight
	rng     *rand.Rand    // message ids, deterministic from Config.Seed
}

func newWebhookState(s *Server) *webhookState {
	idle := make(chan struct{})
	close(idle)
	return &webhookState{
		s: s, hooks: map[string]*Webhook{}, nextID: 1, idle: idle,
		rng: rand.New(rand.NewPCG(uint64(s.cfg.Seed)^0x00b5_11ee, uint64(s.cfg.Seed)+0x7e11)),
	}
}

// validTopic reports whether Oro would offer a topic:
// <alias>.created|updated|deleted, optionally followed by .<id>.
func validTopic(topic string) bool {
	parts := strings.Split(topic, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	if !slices.Contains([]string{"created", "updated", "deleted"}, parts[1]) {
		return false
	}
	if len(parts) == 3 {
		if _, err := strconv.ParseInt(parts[2], 10, 64); err != nil {
			return false
		}
	}
	for _, e := range entities {
		if e.alias == parts[0] {
			return true
		}
	}
	return false
}

func (ws *webhookState) add(h Webhook) (Webhook, error) {
	if h.NotificationURL == "" {
		return Webhook{}, fmt.Errorf("%w: notificationUrl must not be blank", ErrInvalid)
	}
	if !validTopic(h.Topic) {
		return Webhook{}, fmt.Errorf("%w: unknown webhook topic %q", ErrInvalid, h.Topic)
	}
	if h.Format == "" {
		h.Format = "default"
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	h.ID = strconv.FormatInt(ws.nextID, 10)
	ws.nextID++
	ws.hooks[h.ID] = &h
	return h, nil
}

// AddWebhook subscribes a URL to a topic and returns the webhook with its id.
func (s *Server) AddWebhook(h Webhook) (Webhook, error) { return s.hooks.add(h) }

// Webhooks returns the subscriptions in id order.
func (s *Server) Webhooks() []Webhook {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	out := make([]Webhook, 0, len(s.hooks.hooks))
	for _, h := range s.hooks.hooks {
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b Webhook) int {
		x, _ := strconv.ParseInt(a.ID, 10, 64)
		y, _ := strconv.ParseInt(b.ID, 10, 64)
		return cmpID(x, y)
	})
	return out
}

// RemoveWebhook deletes a subscription.
func (s *Server) RemoveWebhook(id string) error {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	if _, ok := s.hooks.hooks[id]; !ok {
		return fmt.Errorf("webhook %s: %w", id, ErrNotFound)
	}
	delete(s.hooks.hooks, id)
	return nil
}

func (ws *webhookState) get(id string) (Webhook, bool) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	h, ok := ws.hooks[id]
	if !ok {
		return Webhook{}, false
	}
	return *h, true
}

// WebhooksIdle waits until every queued webhook delivery has been made
// (including retries) or ctx ends.
func (s *Server) WebhooksIdle(ctx context.Context) error {
	s.hooks.mu.Lock()
	idle := s.hooks.idle
	s.hooks.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("orosim: webhooks not idle: %w", ctx.Err())
	}
}

var webhookEvents = map[string]string{"create": "created", "update": "updated", "remove": "deleted"}

// fire queues a delivery to every enabled webhook subscribed to the event.
func (ws *webhookState) fire(s *Server, def *typeDef, action string, prev, next *record) {
	r := next
	if r == nil {
		r = prev
	}
	topic := entityOf(def.Name).alias + "." + webhookEvents[action]
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var ids []string
	for id, h := range ws.hooks {
		if h.Enabled && (h.Topic == topic || h.Topic == topic+"."+r.idString()) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	rd := renderer{}
	for _, id := range ids {
		var data any = rd.resource(def, r)
		if ws.hooks[id].Format == "thin" {
			data = ref{Type: def.Name, ID: r.idString()}
		}
		// As Oro's WebhookNotifier: the timestamp is taken when the notification is queued (retries keep it), the
		// message id is a UUID v4.
		msgID := ws.uuid()
		body, _ := appendJSON(nil, object{
			{"topic", topic},
			{"eventData", object{{"data", data}}},
			{"timestamp", s.now().Unix()},
			{"messageId", msgID},
		})
		ws.queue = append(ws.queue, delivery{hookID: id, topic: topic, messageID: msgID, body: body})
	}
	if !ws.running {
		ws.running = true
		ws.idle = make(chan struct{})
		go ws.work()
	}
}

func (ws *webhookState) work() {
	for {
		ws.mu.Lock()
		if len(ws.queue) == 0 {
			ws.running = false
			close(ws.idle)
			ws.mu.Unlock()
			return
		}
		d := ws.queue[0]
		ws.queue = ws.queue[1:]
		ws.mu.Unlock()
		ws.deliver(d)
	}
}

// uuid is a version 4 UUID from the simulator's seeded source.
func (ws *webhookState) uuid() string {
	a, b := ws.rng.Uint64(), ws.rng.Uint64()
	a = a&^0xf000 | 0x4000           // version 4
	b = b&^(0xc000<<48) | 0x8000<<48 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, a>>16&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// webhookAttempts is how often a delivery is tried before it is dropped.
const webhookAttempts = 5

// retryableWebhookStatus is what Oro delivers a webhook again after (Symfony's GenericRetryStrategy with its default
// codes, for a POST: 500, 504, 507, 510 and transport errors are retried for idempotent methods only).
func retryableWebhookStatus(code int) bool {
	switch code {
	case http.StatusLocked, http.StatusTooEarly, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable:
		return true
	}
	return false
}

// deliver POSTs one event, retrying a retryable status (423, 425, 429, 502,
// 503) after Retry-After or an exponential backoff; a 410 Gone reply deletes
// the webhook, as Oro's HttpGoneWebhookResponseProcessor does; anything else
// ends the delivery.
func (ws *webhookState) deliver(d delivery) {
	s := ws.s
	for attempt := 1; attempt <= webhookAttempts; attempt++ {
		h, ok := ws.get(d.hookID)
		if !ok {
			return // deleted meanwhile
		}
		wait, done := ws.post(h, d)
		if done {
			return
		}
		if attempt == webhookAttempts {
			s.log.Warn("webhook delivery dropped", "webhook", h.ID, "topic", d.topic)
			return
		}
		if wait <= 0 {
			wait = time.Duration(1<<(attempt-1)) * time.Second
		}
		if err := s.cfg.Sleep(context.Background(), wait); err != nil {
			return
		}
	}
}

// post makes one attempt; done means no retry is wanted.
func (ws *webhookState) post(h Webhook, d delivery) (wait time.Duration, done bool) {
	s := ws.s
	req, err := http.NewRequest(http.MethodPost, h.NotificationURL, bytes.NewReader(d.body))
	if err != nil {
		s.log.Warn("webhook url", "webhook", h.ID, "err", err)
		return 0, true
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Webhook-Topic", d.topic)
	req.Header.Set("Webhook-Id", d.messageID) // Oro's WebhookNotificationSender: the message id, not the webhook's
	if h.Secret != "" {
		mac := hmac.New(sha256.New, []byte(h.Secret))
		mac.Write(d.body)
		req.Header.Set("Webhook-Signature", hex.EncodeToString(mac.Sum(nil)))
		req.Header.Set("Webhook-Signature-Algorithm", "HMAC-SHA256")
	}
	client := s.cfg.WebhookClient
	if client == nil {
		client = defaultWebhookClient(h.VerifySSL)
	}
	resp, err := client.Do(req)
	if err != nil {
		s.log.Info("webhook delivery failed; a POST is not retried after a transport error", "webhook", h.ID, "err", err)
		return 0, true
	}
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, true
	case resp.StatusCode == http.StatusGone:
		_ = s.RemoveWebhook(h.ID)
		return 0, true
	case !retryableWebhookStatus(resp.StatusCode):
		s.log.Info("webhook delivery refused; not retried", "webhook", h.ID, "status", resp.StatusCode)
		return 0, true
	}
	return parseRetryAfter(resp.Header.Get("Retry-After"), s.now()), false
}

// maxRetryAfter caps a Retry-After wait, in seconds (a day).
const maxRetryAfter = 86400

// parseRetryAfter reads delay-seconds or an HTTP date; 0 if absent.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		// Capped, so a huge value cannot overflow into a negative wait.
		return time.Duration(min(max(n, 0), maxRetryAfter)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter*time.Second)
	}
	return 0
}

// defaultWebhookClient does not follow redirects, like Oro's sender.
func defaultWebhookClient(verify bool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if !verify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the webhook's verifySsl is off
	}
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// sleepCtx is the default Config.Sleep.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
