package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
)

// awaitWriterDrained waits until the writer's consumer has acknowledged everything MERCATO_CHANGES holds and the
// outbox relay has emptied both outbox tables. progress (a commit) wakes it early; the relay reports nothing, so it
// also looks again every 100ms.
func awaitWriterDrained[T any](ctx context.Context, t *testing.T, js jetstream.JetStream, db *pgxpool.Pool, progress <-chan T) {
	t.Helper()
	cons, err := js.Consumer(ctx, events.StreamMercatoChanges, "writer")
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, events.StreamMercatoChanges)
	if err != nil {
		t.Fatal(err)
	}
	// The stream's last sequence is read first: the consumer's own pending count can lag a message just stored.
	si, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var outbox int
		if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM orosync_outbox) + (SELECT count(*) FROM orosync_outbox_batches)`).Scan(&outbox); err != nil {
			t.Fatal(err)
		}
		if info.AckFloor.Stream >= si.State.LastSeq && info.NumAckPending == 0 && info.NumPending == 0 && outbox == 0 {
			return
		}
		select {
		case <-progress:
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("not drained: %d pending, %d unacknowledged, %d outbox rows", info.NumPending, info.NumAckPending, outbox)
		}
	}
}
