// Package natsconn connects orosync's services to NATS one way: reconnecting without limit, so a broker outage of
// any length is waited out, with every disconnect and reconnect logged; a connection that closes for good anyway
// (refused credentials, a limit an operator set) ends the service with an error, so the process exits non-zero and
// its supervisor restarts it.
package natsconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	neturl "net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/orosync/orosync/contracts"
	"github.com/orosync/orosync/events/redact"
)

// ReconnectWait is the pause between rounds of reconnect attempts (nats.go's default).
const ReconnectWait = 2 * time.Second

// PublishAckTimeout bounds the wait for JetStream's acknowledgement of an asynchronous publish: an
// acknowledgement lost with a connection or a stream leader (a node killed after storing, before answering) would
// otherwise keep the publisher waiting for ever. A publish that times out is retried like any failed one (its
// Nats-Msg-Id makes a retry of a stored message a duplicate, not a second copy).
const PublishAckTimeout = 10 * time.Second

// ErrClosed is returned by Conn.Held when the connection closed while the service still needed it.
var ErrClosed = errors.New("NATS connection closed for good")

// Conn is a NATS connection that reports when it closes.
type Conn struct {
	*nats.Conn
	name   string
	closed chan struct{}
	once   sync.Once
}

// Options are the reconnect policy and the logging handlers of a connection named name. Options given after them
// win (tests shorten the wait).
func Options(name string, log *slog.Logger) []nats.Option {
	if log == nil {
		log = slog.Default()
	}
	log = log.With("connection", name)
	return []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(ReconnectWait),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if nc.IsClosed() {
				return
			}
			log.Warn("NATS disconnected; reconnecting without limit", "err", err)
		}),
		// Errors the server sends asynchronously: a permissions violation (a user denied what it tried) among them.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				log.Error("NATS error", "subject", sub.Subject, "err", err)
				return
			}
			log.Error("NATS error", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("NATS reconnected", "url", redact.URL(nc.ConnectedUrl()), "reconnects", nc.Stats().Reconnects)
		}),
	}
}

// Connect dials url with Options(name, log) and Inbox(url) followed by opts.
func Connect(url, name string, log *slog.Logger, opts ...nats.Option) (*Conn, error) {
	c := &Conn{name: name, closed: make(chan struct{})}
	all := append(append(Options(name, log), Inbox(url)), opts...)
	all = append(all, nats.ClosedHandler(func(*nats.Conn) { c.once.Do(func() { close(c.closed) }) }))
	nc, err := nats.Connect(url, all...)
	if err != nil {
		return nil, fmt.Errorf("%s: connecting to NATS at %s: %w", name, redact.URL(url), err)
	}
	c.Conn = nc
	return c, nil
}

// User is the user name in url (the first of a comma-separated list that has one), "" without one.
func User(url string) string {
	for _, u := range strings.Split(url, ",") {
		if p, err := neturl.Parse(strings.TrimSpace(u)); err == nil && p.User != nil && p.User.Username() != "" {
			return p.User.Username()
		}
	}
	return ""
}

// Inbox makes the connection's inboxes _INBOX_<user> when url names a user (contracts.InboxPrefix): the only
// ones that user may subscribe to under deploy/nats's permissions. Without a user they stay _INBOX.
func Inbox(url string) nats.Option {
	return func(o *nats.Options) error {
		if u := User(url); u != "" {
			o.InboxPrefix = contracts.InboxPrefix(u)
		}
		return nil
	}
}

// Closed is closed once the connection is.
func (c *Conn) Closed() <-chan struct{} { return c.closed }

// Guard derives a context that is also cancelled when the connection closes, with an ErrClosed cause: run a
// service in it, so a closed connection ends the service instead of leaving it idle. Cancel it before closing the
// connection.
func (c *Conn) Guard(ctx context.Context) (context.Context, context.CancelFunc) {
	g, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-g.Done():
		case <-c.closed:
			if last := c.LastError(); last != nil {
				cancel(fmt.Errorf("%s: %w: %w", c.name, ErrClosed, last))
				return
			}
			cancel(fmt.Errorf("%s: %w", c.name, ErrClosed))
		}
	}()
	return g, func() { cancel(context.Canceled) }
}

// Cause is the error that ended a guarded context because its connection closed (wrapping ErrClosed), else nil.
func Cause(ctx context.Context) error {
	if err := context.Cause(ctx); errors.Is(err, ErrClosed) {
		return err
	}
	return nil
}
