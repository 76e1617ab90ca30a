package main

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/orosync/orosync/contracts/dlq"
	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/events"
)

func TestNewestDeadLettersOfAConnection(t *testing.T) {
	s := jstest.Start(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	// 300 dead letters: every third one acme's (ids 3, 6, ... 300), the others globex's, then one of initech's.
	for i := 1; i <= 301; i++ {
		tenant := map[bool]string{true: "acme", false: "globex"}[i%3 == 0]
		if i == 301 {
			tenant = "initech"
		}
		dl := events.DeadLetter{Stage: "transformer", Record: &events.RecordRef{Tenant: tenant, Type: "contacts", ID: strconv.Itoa(i)},
			Rule: "email", Reason: "not an email address", Subject: "oro.raw." + tenant + ".contacts." + strconv.Itoa(i), FailedAt: at}
		if _, err := s.JS.PublishMsg(ctx, natsconn.DeadLetterMsg(dl, 0)); err != nil {
			t.Fatal(err)
		}
	}
	store, err := dlq.Open(ctx, s.JS)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(entries []dlq.Entry) []int {
		var out []int
		for _, e := range entries {
			_, _, _, id := e.Tokens()
			n, _ := strconv.Atoi(id)
			out = append(out, n)
		}
		return out
	}
	every := func(from, step, n int) []int {
		var out []int
		for i := range n {
			out = append(out, from-i*step)
		}
		return out
	}
	for _, c := range []struct {
		name, tenant string
		n, total     int
		want         []int
	}{
		{"the newest of many, newest first", "acme", 20, 100, every(300, 3, 20)},
		{"all of them when fewer than asked", "acme", 150, 100, every(300, 3, 100)},
		{"the newest of the densest", "globex", 5, 200, []int{299, 298, 296, 295, 293}},
		{"the only one", "initech", 20, 1, []int{301}},
		{"none", "umbrella", 20, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, total, err := newestDeadLetters(ctx, s.JS, store, c.tenant, c.n)
			if err != nil {
				t.Fatal(err)
			}
			if total != c.total || !slices.Equal(ids(got), c.want) {
				t.Errorf("%s's newest %d: %v of %d, want %v of %d", c.tenant, c.n, ids(got), total, c.want, c.total)
			}
		})
	}
}
