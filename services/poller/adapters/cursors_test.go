package adapters_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/orosync/orosync/contracts/coord"
	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/services/poller/adapters"
	"github.com/orosync/orosync/services/poller/domain"
)

func TestACursorWriteAfterAnotherInstancesIsRefusedNotApplied(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := jstest.Start(t)
	kv, err := ns.JS.KeyValue(ctx, "OROSYNC_CURSORS")
	if err != nil {
		t.Fatal(err)
	}
	mine := adapters.Cursors{KV: kv, Revisions: coord.NewRevisions()}
	theirs := adapters.Cursors{KV: kv, Revisions: coord.NewRevisions()}
	t.Run("a type nobody polled yet is created once", func(t *testing.T) {
		for _, c := range []adapters.Cursors{mine, theirs} {
			if _, err := c.Load(ctx, "acme", "contacts"); err != nil {
				t.Fatal(err)
			}
		}
		if err := mine.Save(ctx, "acme", "contacts", domain.Cursor{LastID: 10}); err != nil {
			t.Fatal(err)
		}
		if err := theirs.Save(ctx, "acme", "contacts", domain.Cursor{LastID: 5}); !errors.Is(err, coord.ErrConflict) {
			t.Fatalf("the second instance's first write: %v, want a conflict", err)
		}
	})
	t.Run("a cursor moved by another instance since it was read", func(t *testing.T) {
		if _, err := theirs.Load(ctx, "acme", "contacts"); err != nil {
			t.Fatal(err)
		}
		if err := theirs.Save(ctx, "acme", "contacts", domain.Cursor{LastID: 20}); err != nil {
			t.Fatal(err)
		}
		if err := mine.Save(ctx, "acme", "contacts", domain.Cursor{LastID: 11}); !errors.Is(err, coord.ErrConflict) {
			t.Fatalf("writing over a cursor moved since: %v, want a conflict", err)
		}
		if got, err := mine.Load(ctx, "acme", "contacts"); err != nil || got.LastID != 20 {
			t.Fatalf("cursor %+v (%v), want the other instance's", got, err)
		}
		if err := mine.Save(ctx, "acme", "contacts", domain.Cursor{LastID: 21}); err != nil {
			t.Fatalf("writing after reading it again: %v", err)
		}
	})
}
