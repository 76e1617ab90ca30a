package main

import (
	"context"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
	poller "github.com/orosync/orosync/services/poller/service"
	transformer "github.com/orosync/orosync/services/transformer/service"
)

func TestAChangeLostBeforeTheWriterSawItIsRepairedByTheNextReconcilePass(t *testing.T) {
	e := newE2E(t)
	e.sync()
	e.clock.Advance(time.Second) // an edit after the sync's cursor
	if err := e.sim.UpdateContact("5", map[string]any{"jobTitle": "The edit that got lost"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Second) // past the poller's safety lag
	// The poller reads the edit and the transformer maps it; the writer is not running.
	if err := poller.Run(e.ctx, e.p.pollerConfig(true)); err != nil {
		t.Fatal(err)
	}
	tctx, stop := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- transformer.Run(tctx, transformer.Config{NatsURL: e.p.NatsURL, Logger: e.p.Log}) }()
	tick := time.NewTicker(50 * time.Millisecond)
	for caught := false; !caught; {
		select {
		case <-e.ctx.Done():
			t.Fatal("the transformer did not catch up")
		case <-tick.C:
		}
		var err error
		if caught, err = consumedAll(e.ctx, e.js, events.StreamOroRaw, "transformer"); err != nil {
			t.Fatal(err)
		}
	}
	tick.Stop()
	stop()
	<-done // stopped while some of its subscriptions were starting, it may say so: what counts is the change below
	// The change is lost before the writer sees it.
	subject, _ := events.ChangeSubject("acme", "person", "contacts", "5")
	changes, err := e.js.Stream(e.ctx, events.StreamMercatoChanges)
	if err != nil {
		t.Fatal(err)
	}
	lost, err := changes.GetLastMsgForSubject(e.ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	if err := changes.DeleteMsg(e.ctx, lost.Sequence); err != nil {
		t.Fatal(err)
	}
	if got := e.persons()["5"].JobTitle; got == "The edit that got lost" {
		t.Fatal("the edit reached Mercato without its change")
	}

	e.clock.Advance(11 * time.Minute) // the lost version is older than a version on its way could be
	rep := e.sync()
	if got := e.persons()["5"].JobTitle; got != "The edit that got lost" {
		t.Errorf("contact 5's job title in Mercato is %q after the reconcile pass, want the lost edit", got)
	}
	if rep.Reconcile.Repaired != 1 || rep.Reconcile.Stale != 1 {
		t.Errorf("pass: %d stale, %d repaired; want 1 each", rep.Reconcile.Stale, rep.Reconcile.Repaired)
	}
}
