package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts"
	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/events/redact"
)

// orosync keeps one orosync_records row per Mercato tenant, organization and Oro record, and the reconciler
// lists a connection's records by its Mercato scope: two connections writing into one scope would overwrite each
// other's records and tombstone each other's. A scope belongs to the first connection that runs in it: the claim is
// kept in OROSYNC_CURSORS (scopeKey), so a second connection is refused at start-up, in this process or another.

// scopeKey is the key of the claim on a Mercato tenant and organization.
func scopeKey(s connection) string {
	return contracts.ScopeKeyPrefix + "." + s.Scope.TenantID.String() + "." + s.Scope.OrganizationID.String()
}

// claimScopes claims the Mercato scope of every connection for it, and refuses a scope another connection claimed.
func (p pipeline) claimScopes(ctx context.Context) error {
	nc, err := nats.Connect(p.NatsURL, append([]nats.Option{natsconn.Inbox(p.NatsURL)}, append(p.NatsOptions, nats.Name("orosync-scopes"))...)...)
	if err != nil {
		return fmt.Errorf("connecting to NATS at %s: %w", redact.URL(p.NatsURL), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	kv, err := js.KeyValue(ctx, "OROSYNC_CURSORS")
	if err != nil {
		return fmt.Errorf("claiming Mercato scopes: %w", err)
	}
	var errs []error
	for _, c := range p.connections() {
		key := scopeKey(c)
		_, err := kv.Create(ctx, key, []byte(c.Name))
		if err == nil || !errors.Is(err, jetstream.ErrKeyExists) {
			errs = append(errs, err)
			continue
		}
		e, err := kv.Get(ctx, key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if owner := string(e.Value()); owner != c.Name {
			errs = append(errs, fmt.Errorf("connection %s: Mercato tenant %s, organization %s is connection %s's: two connections "+
				"in one scope would overwrite and tombstone each other's records; give %s an organization of its own, or, if %s "+
				"is gone for good, release the scope: nats kv del OROSYNC_CURSORS %s", c.Name, c.Scope.TenantID, c.Scope.OrganizationID,
				owner, c.Name, owner, key))
		}
	}
	return errors.Join(errs...)
}
