package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/events"
)

func TestDLQCommandsListShowRedriveAndPurgeDeadLetters(t *testing.T) {
	s := jstest.Start(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	publish := func(dl events.DeadLetter) {
		t.Helper()
		if _, err := s.JS.PublishMsg(ctx, natsconn.DeadLetterMsg(dl, 0)); err != nil {
			t.Fatal(err)
		}
	}
	bad := events.DeadLetter{Stage: "transformer", Record: &events.RecordRef{Tenant: "acme", Type: "contacts", ID: "7"},
		Field: "attributes.primaryEmail", Rule: "email", Reason: "primaryEmail \"ann@\" is not an email address",
		Subject: "oro.raw.acme.contacts.7", Headers: map[string]string{"ce-id": "raw-7", nats.MsgIdHdr: "raw-7"}, FailedAt: at}
	bad.SetPayload([]byte(`{"resource":{"id":"7","attributes":{"primaryEmail":"ann@"}}}`))
	publish(bad)
	big := events.Oversize("poller", &events.RecordRef{Tenant: "acme", Type: "notes", ID: "8"}, events.StreamOroRaw,
		"oro.raw.acme.notes.8", nil, 9_000_000, 8_388_608, "Oro", at)
	publish(big)
	other := bad
	other.Record = &events.RecordRef{Tenant: "globex", Type: "contacts", ID: "9"}
	other.Subject = "oro.raw.globex.contacts.9"
	publish(other)

	orosync := func(args ...string) (string, string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append([]string{args[0], args[1], "--nats-url", s.URL}, args[2:]...)
		err := run(ctx, args, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	mustRun := func(args ...string) string {
		t.Helper()
		out, errOut, err := orosync(args...)
		if err != nil {
			t.Fatalf("orosync %v: %v\n%s", args, err, errOut)
		}
		return out
	}

	t.Run("list filters by tenant", func(t *testing.T) {
		out := mustRun("dlq", "list", "--tenant", "acme")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[1], "1 ") || !strings.Contains(lines[1], "transformer  acme") ||
			!strings.Contains(lines[1], "not an email") || !strings.Contains(lines[2], "max-size") || strings.Contains(out, "globex") {
			t.Errorf("list --tenant acme:\n%s", out)
		}
	})
	t.Run("show prints the entry with its payload pretty", func(t *testing.T) {
		out := mustRun("dlq", "show", "1")
		if !strings.Contains(out, "\"primaryEmail\": \"ann@\"") || !strings.Contains(out, `"rule": "email"`) {
			t.Errorf("show 1:\n%s", out)
		}
	})
	t.Run("redrive refuses a dead letter without payload", func(t *testing.T) {
		_, errOut, err := orosync("dlq", "redrive", "2")
		if err == nil || !strings.Contains(errOut, "keeps no payload") {
			t.Errorf("redrive 2: %v\n%s", err, errOut)
		}
	})
	t.Run("redrive by filter lists without --yes, redrives with it", func(t *testing.T) {
		if out := mustRun("dlq", "redrive", "--tenant", "globex"); !strings.Contains(out, "1 dead letters would be redriven") {
			t.Errorf("redrive --tenant globex:\n%s", out)
		}
		if out := mustRun("dlq", "redrive", "--tenant", "globex", "--yes"); !strings.Contains(out, "redrove OROSYNC_DLQ #3 to oro.raw.globex.contacts.9 (ORO_RAW #1)") {
			t.Errorf("redrive --tenant globex --yes:\n%s", out)
		}
		if out := mustRun("dlq", "list", "--tenant", "globex"); strings.Count(out, "\n") != 1 {
			t.Errorf("the redriven dead letter is still listed:\n%s", out)
		}
	})
	t.Run("purge lists without --yes, removes with it", func(t *testing.T) {
		if out := mustRun("dlq", "purge", "--stage", "poller"); !strings.Contains(out, "1 dead letters would be removed") {
			t.Errorf("purge --stage poller:\n%s", out)
		}
		if out := mustRun("dlq", "list"); strings.Count(out, "\n") != 3 {
			t.Errorf("purge without --yes removed something:\n%s", out)
		}
		if out := mustRun("dlq", "purge", "--stage", "poller", "--yes"); !strings.Contains(out, "removed 1 dead letters") {
			t.Errorf("purge --stage poller --yes:\n%s", out)
		}
		if out := mustRun("dlq", "list"); strings.Count(out, "\n") != 2 || !strings.Contains(out, "transformer") {
			t.Errorf("after purging the poller's:\n%s", out)
		}
	})
}
