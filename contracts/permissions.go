package contracts

import (
	"fmt"
	"slices"
	"strings"
)

// The NATS users orosync's services connect as: one per service, the poller and reconciler one per connection
// (tenant), each allowed only what its service does. Users renders them as nats-server configuration
// (deploy/nats/accounts.conf is `orosync nats-accounts` of deploy/tenants.example.yaml).

// User is one NATS user and what it may publish and subscribe to; nil permissions allow everything (admin).
type User struct {
	Name      string
	Comment   string
	Publish   []string
	Subscribe []string
}

// User names.
const (
	UserAdmin       = "admin"
	UserTransformer = "transformer"
	UserWriter      = "writer"
	UserMercato     = "mercato"
)

// PollerUser and ReconcilerUser are the users of one connection's poller and reconciler.
func PollerUser(tenant string) string     { return "poller-" + tenant }
func ReconcilerUser(tenant string) string { return "reconciler-" + tenant }

// InboxPrefix is the prefix of user's inboxes (replies to its requests, its pull deliveries): each user may
// subscribe to its own only, so no service reads another's deliveries. natsconn sets it from the URL's user.
func InboxPrefix(user string) string { return "_INBOX_" + user }

// Lease, budget and scope keys in OROSYNC_CURSORS that are not under a tenant's poller prefix.
const (
	cursorBucket = "OROSYNC_CURSORS"
	// BudgetKeyPrefix: _budget.<tenant> holds a connection's shared Oro request budget (its poller and reconciler
	// take from it).
	BudgetKeyPrefix = "_budget"
	// ScopeKeyPrefix: _scope.<tenant id>.<organization id> holds the connection that claimed a Mercato scope.
	ScopeKeyPrefix = "_scope"
	// ReconcilerKeyPrefix: _reconciler.<tenant>.… holds a connection's reconciler state and lease.
	ReconcilerKeyPrefix = "_reconciler"
)

// kv is what reading and writing keys matching pattern takes: the put subject and the direct get by subject.
func kv(pattern string) []string {
	return []string{"$KV." + cursorBucket + "." + pattern,
		"$JS.API.DIRECT.GET.KV_" + cursorBucket + ".$KV." + cursorBucket + "." + pattern}
}

// pull is what reading stream through the durable consumer takes: its info, its next-message requests, its
// acknowledgements (and +WPI), the stored message a max-deliveries advisory names, and that advisory.
func pull(stream, consumer string) (pub, sub []string) {
	return []string{"$JS.API.STREAM.INFO." + stream, "$JS.API.CONSUMER.INFO." + stream + "." + consumer,
			"$JS.API.CONSUMER.MSG.NEXT." + stream + "." + consumer, "$JS.ACK." + stream + "." + consumer + ".>",
			"$JS.API.STREAM.MSG.GET." + stream, "$JS.API.DIRECT.GET." + stream},
		[]string{"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + stream + "." + consumer}
}

func info(streams ...string) []string {
	out := make([]string, len(streams))
	for i, s := range streams {
		out[i] = "$JS.API.STREAM.INFO." + s
	}
	return out
}

// Users lists every user for the given connections (tenant names), sorted by name within each service.
func Users(tenants []string) []User {
	tenants = slices.Sorted(slices.Values(tenants))
	var out []User
	for _, t := range tenants {
		u := PollerUser(t)
		out = append(out, User{Name: u, Comment: "poller of connection " + t + ": its raw subjects and dead letters, its cursors, leases and budget",
			Publish: concat([]string{"oro.raw." + t + ".>", "orosync.dlq.poller." + t + ".>"},
				info("ORO_RAW", "OROSYNC_DLQ", "KV_"+cursorBucket),
				// the last published version per record: a consumer created on the connection's subjects only that
				// pushes to the poller's inbox, with flow control; it pulls from no consumer, so no replay's or
				// pipeline's deliveries (their names are free, and a permission names a consumer only whole)
				[]string{"$JS.API.CONSUMER.CREATE.ORO_RAW.*.oro.raw." + t + ".>", "$JS.FC.ORO_RAW.>"},
				kv(t+".>"), kv(BudgetKeyPrefix+"."+t)),
			Subscribe: []string{InboxPrefix(u) + ".>"}})
	}
	tp, ts := pull("ORO_RAW", "transformer")
	out = append(out, User{Name: UserTransformer, Comment: "transformer: reads ORO_RAW through its durable consumer, publishes changes and dead letters",
		Publish:   concat([]string{"mercato.changes.>", "orosync.dlq.transformer.>"}, tp, info("MERCATO_CHANGES", "OROSYNC_DLQ")),
		Subscribe: append([]string{InboxPrefix(UserTransformer) + ".>"}, ts...)})
	wp, ws := pull("MERCATO_CHANGES", "writer")
	out = append(out, User{Name: UserWriter, Comment: "writer: reads MERCATO_CHANGES, publishes Mercato events from its outbox and dead letters, claims Mercato scopes",
		Publish: concat([]string{"mercato.events.>", "orosync.dlq.writer.>"}, wp, info("MERCATO_EVENTS", "OROSYNC_DLQ", "KV_"+cursorBucket),
			kv(ScopeKeyPrefix+".>")),
		Subscribe: append([]string{InboxPrefix(UserWriter) + ".>"}, ws...)})
	for _, t := range tenants {
		u := ReconcilerUser(t)
		out = append(out, User{Name: u, Comment: "reconciler of connection " + t + ": tombstones and repairs on its raw subjects, its state, lease and budget",
			Publish: concat([]string{"oro.raw." + t + ".>", "orosync.dlq.reconciler." + t + ".>"},
				info("ORO_RAW", "OROSYNC_DLQ", "KV_"+cursorBucket), kv(ReconcilerKeyPrefix+"."+t+".>"), kv(BudgetKeyPrefix+"."+t)),
			Subscribe: []string{InboxPrefix(u) + ".>"}})
	}
	mp, _ := pull("MERCATO_EVENTS", "mercato")
	out = append(out, User{Name: UserMercato, Comment: "Open Mercato's sync_orocrm module: reads MERCATO_EVENTS through its durable consumer (inbox prefix _INBOX_mercato)",
		Publish:   mp[:4],
		Subscribe: []string{InboxPrefix(UserMercato) + ".>"}})
	out = append(out, User{Name: UserAdmin, Comment: "admin: applies contracts/ (orosync migrate --nats-url), status, replays, conflicts, the dead-letter queue"})
	return out
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// PasswordVar is the environment variable of nats-server that holds user's password.
func PasswordVar(user string) string {
	return "OROSYNC_" + strings.ToUpper(strings.ReplaceAll(user, "-", "_")) + "_PASSWORD"
}

// AccountsConf renders users as a nats-server accounts block: one JetStream-enabled account, passwords read from
// the server's environment (PasswordVar).
func AccountsConf(users []User) string {
	var b strings.Builder
	b.WriteString("# Generated by `orosync nats-accounts`: per-service users with least privilege, all in one JetStream-enabled\n" +
		"# account. Passwords come from the environment of the nats-server process (never commit them). Each user's\n" +
		"# inboxes are _INBOX_<user>, which orosync sets from the user name in its NATS URL.\n")
	b.WriteString("accounts {\n  OROSYNC {\n    jetstream: enabled\n    users: [\n")
	for _, u := range users {
		fmt.Fprintf(&b, "      # %s\n      { user: %q, password: $%s", u.Comment, u.Name, PasswordVar(u.Name))
		if u.Publish != nil || u.Subscribe != nil {
			fmt.Fprintf(&b, ", permissions: {\n          publish: %s\n          subscribe: %s } }\n", list(u.Publish), list(u.Subscribe))
		} else {
			b.WriteString(" }\n")
		}
	}
	b.WriteString("    ]\n  }\n}\n")
	return b.String()
}

func list(subjects []string) string {
	q := make([]string, len(subjects))
	for i, s := range subjects {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
