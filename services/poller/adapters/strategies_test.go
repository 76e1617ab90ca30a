package adapters_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/poller/adapters"
)

func TestLastVersionsAreTheLatestMessageOfEveryRecordOfTheType(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := jstest.Start(t)
	const records = 20000
	pad := strings.Repeat("x", 2000) // tens of megabytes in all: the server must wait for the reader (flow control)
	publish := func(typ string, id int, hash string) {
		subj, err := events.RawSubject("acme", typ, fmt.Sprint(id))
		if err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`{"payloadHash":%q,"updatedAt":"2026-11-0%dT00:00:00Z","pad":%q}`, hash, 1+id%2, pad)
		if _, err := ns.JS.PublishAsync(subj, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	for id := range records {
		publish("contacts", id, "old")
	}
	for id := 0; id < records; id += 3 {
		publish("contacts", id, "new")
	}
	publish("accounts", 1, "other type")
	select {
	case <-ns.JS.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal("publishing did not complete")
	}

	got, err := adapters.PublishedHashes{JS: ns.JS}.LastVersions(ctx, "acme", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != records {
		t.Fatalf("%d records, want %d", len(got), records)
	}
	for id := range records {
		want := "old"
		if id%3 == 0 {
			want = "new"
		}
		v := got[fmt.Sprint(id)]
		if v.PayloadHash != want || v.UpdatedAt != time.Date(2026, 11, 1+id%2, 0, 0, 0, 0, time.UTC) {
			t.Fatalf("record %d: %+v, want hash %s", id, v, want)
		}
	}
}
