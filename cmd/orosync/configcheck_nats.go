package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts"
	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/events/redact"
)

// natsProbe is one thing a service does on NATS, tried without changing anything.
type natsProbe struct {
	what string
	try  func(ctx context.Context, js jetstream.JetStream) error
}

// checkStream is a service's look at a stream's configuration.
func checkStream(stream string) natsProbe {
	return natsProbe{"stream info " + stream, func(ctx context.Context, js jetstream.JetStream) error {
		_, err := js.Stream(ctx, stream)
		return err
	}}
}

func checkConsumer(stream, consumer string) natsProbe {
	return natsProbe{"consumer " + stream + "/" + consumer, func(ctx context.Context, js jetstream.JetStream) error {
		_, err := js.Consumer(ctx, stream, consumer)
		return err
	}}
}

// checkKey reads a key of OROSYNC_CURSORS (missing is fine: the read was allowed).
func checkKey(key string) natsProbe {
	return natsProbe{"read key " + key, func(ctx context.Context, js jetstream.JetStream) error {
		kv, err := js.KeyValue(ctx, "OROSYNC_CURSORS")
		if err == nil {
			_, err = kv.Get(ctx, key)
		}
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		return err
	}}
}

// checkPublish publishes to subject with an expected stream no stream has: the stream that takes the subject
// answers (so the user may publish there and a stream listens) and refuses to store it.
func checkPublish(subject string) natsProbe {
	return natsProbe{"publish " + subject, func(ctx context.Context, js jetstream.JetStream) error {
		msg := nats.NewMsg(subject)
		msg.Header.Set(jetstream.ExpectedStreamHeader, "orosync-config-check")
		_, err := js.PublishMsg(ctx, msg)
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && uint16(apiErr.ErrorCode) == server.ApiErrors[server.JSStreamNotMatchErr].ErrCode {
			return nil
		}
		if err == nil {
			return errors.New("stored, though no stream has the expected name")
		}
		return err
	}}
}

// publishTo is checkPublish of a subject, or a probe that fails with why there is none.
func publishTo(subject string, err error) natsProbe {
	if err != nil {
		return natsProbe{"publish", func(context.Context, jetstream.JetStream) error { return err }}
	}
	return checkPublish(subject)
}

// serviceProbes are what each service of connection c does on NATS (contracts.Users: what its user may do).
func serviceProbes(c connection, svcs services) map[string][]natsProbe {
	typ, id := "_check", "_check"
	if len(c.Types) > 0 {
		typ = c.Types[0]
	}
	raw := publishTo(events.RawSubject(c.Name, typ, id))
	change := publishTo(events.ChangeSubject(c.Name, events.AggregateToken(events.AggregatePerson), typ, id))
	event := publishTo(events.EventSubject(c.Name, "customers.person.updated", id))
	dlq := func(stage string) natsProbe {
		return checkPublish(events.DeadLetterSubject(stage, events.RecordRef{Tenant: c.Name, Type: typ, ID: id}))
	}
	out := map[string][]natsProbe{}
	if svcs.has(svcPoller) {
		out[svcPoller] = []natsProbe{checkStream(events.StreamOroRaw), raw, dlq(svcPoller),
			checkKey(c.Name + "." + typ), checkKey(contracts.BudgetKeyPrefix + "." + c.Name)}
	}
	if svcs.has(svcTransformer) {
		out[svcTransformer] = []natsProbe{checkConsumer(events.StreamOroRaw, "transformer"), checkStream(events.StreamMercatoChanges),
			change, dlq(svcTransformer)}
	}
	if svcs.has(svcWriter) {
		out[svcWriter] = []natsProbe{checkConsumer(events.StreamMercatoChanges, "writer"), checkStream(events.StreamMercatoEvents),
			event, dlq(svcWriter), checkKey(scopeKey(c))}
	}
	if svcs.has(svcReconciler) {
		out[svcReconciler] = []natsProbe{checkStream(events.StreamOroRaw), raw, dlq(svcReconciler),
			checkKey(contracts.ReconcilerKeyPrefix + "." + c.Name + ".state"), checkKey(contracts.BudgetKeyPrefix + "." + c.Name)}
	}
	return out
}

// violations collects the permission violations the server reports to a connection.
type violations struct {
	mu   sync.Mutex
	seen []string
}

func (v *violations) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	if errors.Is(err, nats.ErrPermissionViolation) {
		v.mu.Lock()
		v.seen = append(v.seen, err.Error())
		v.mu.Unlock()
	}
}

// since is what was reported after the first n.
func (v *violations) since(n int) (int, []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.seen), append([]string(nil), v.seen[n:]...)
}

// checkNATS is a line per service of c: whether the NATS user of url may do what the service does.
func checkNATS(ctx context.Context, c connection, url string, svcs services, timeout time.Duration) []connCheck {
	if url == "" {
		return []connCheck{{Connection: c.Name, Check: "nats", OK: true, Detail: "no --nats-url: orosync run starts an embedded server"}}
	}
	var v violations
	nc, err := nats.Connect(url, nats.Name("orosync-config-check"), natsconn.Inbox(url), nats.ErrorHandler(v.handler),
		nats.Timeout(timeout))
	if err != nil {
		return []connCheck{{Connection: c.Name, Check: "nats", Detail: fmt.Sprintf("connecting to %s: %v", redact.URL(url), err)}}
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return []connCheck{{Connection: c.Name, Check: "nats", Detail: err.Error()}}
	}
	user := natsconn.User(url)
	if user == "" {
		user = "(no user)"
	}
	probes := serviceProbes(c, svcs)
	var out []connCheck
	for _, svc := range allServices {
		list, ok := probes[svc]
		if !ok {
			continue
		}
		line := connCheck{Connection: c.Name, Check: "nats " + svc, OK: true}
		var failed []string
		for _, p := range list {
			if err := tryProbe(ctx, js, p, &v); err != nil {
				failed = append(failed, p.what+": "+err.Error())
			}
		}
		if len(failed) > 0 {
			line.OK, line.Detail = false, "user "+user+": "+strings.Join(failed, "; ")
		} else {
			line.Detail = fmt.Sprintf("user %s may do its %d operations", user, len(list))
		}
		out = append(out, line)
	}
	return out
}

// tryProbe runs p; a request the server dropped for a permission violation fails naming it, not as a timeout.
func tryProbe(ctx context.Context, js jetstream.JetStream, p natsProbe, v *violations) error {
	n, _ := v.since(0)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := p.try(pctx, js)
	if err == nil {
		return nil
	}
	if _, seen := v.since(n); len(seen) > 0 {
		return errors.New("denied: " + strings.Join(seen, "; "))
	}
	return err
}
