package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/dlq"
	"github.com/orosync/orosync/events"
)

// newestDeadLetters are the newest n dead letters of tenant, newest first, and how many it has. It reads the
// stream's tail only: chunks of sequences back from the last, each twice the one before, until they hold n of the
// tenant's, so a page load does not read every dead letter the stream keeps.
func newestDeadLetters(ctx context.Context, js jetstream.JetStream, store *dlq.Store, tenant string, n int) ([]dlq.Entry, int, error) {
	subject, err := dlq.Filter{Tenant: tenant}.Subject()
	if err != nil {
		return nil, 0, err
	}
	st, err := js.Stream(ctx, events.StreamDeadLetter)
	if err != nil {
		return nil, 0, fmt.Errorf("stream %s: %w", events.StreamDeadLetter, err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return nil, 0, fmt.Errorf("stream %s: %w", events.StreamDeadLetter, err)
	}
	total := 0
	for _, c := range info.State.Subjects {
		total += int(c)
	}
	var seqs []uint64 // newest first
	first, end := info.State.FirstSeq, info.State.LastSeq
	for size := uint64(4 * n); len(seqs) < n && total > 0 && end >= first && end > 0; size *= 2 {
		from := first
		if end-first+1 > size {
			from = end - size + 1
		}
		chunk, err := seqsBetween(ctx, st, subject, from, end)
		if err != nil {
			return nil, total, err
		}
		slices.Reverse(chunk)
		seqs = append(seqs, chunk...)
		end = from - 1
	}
	var out []dlq.Entry
	for _, seq := range seqs[:min(n, len(seqs))] {
		e, err := store.Get(ctx, seq)
		if err != nil {
			return out, total, err
		}
		out = append(out, e)
	}
	return out, total, nil
}

// seqsBetween are the sequences of the messages on subject from from to end, oldest first.
func seqsBetween(ctx context.Context, st jetstream.Stream, subject string, from, end uint64) ([]uint64, error) {
	var out []uint64
	for seq := from; seq <= end; {
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s from #%d: %w", events.StreamDeadLetter, seq, err)
		}
		if m.Sequence > end {
			return out, nil
		}
		out = append(out, m.Sequence)
		seq = m.Sequence + 1
	}
	return out, nil
}
