// Package dlq reads, filters, redrives and purges the dead letters of OROSYNC_DLQ.
package dlq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/events"
)

// Filter selects dead letters: Stage, Tenant and Type match the tokens of their subject
// (orosync.dlq.<stage>.<tenant>.<type>.<id>) exactly, Reason is a substring of the reason; empty matches all.
type Filter struct {
	Stage, Tenant, Type, Reason string
}

// Subject is the subject filter of f's tokens.
func (f Filter) Subject() (string, error) {
	tok := func(flag, v string) (string, error) {
		if v == "" {
			return "*", nil
		}
		if !events.ValidToken(v) {
			return "", fmt.Errorf("%s %q: not a subject token (letters, digits, - and _)", flag, v)
		}
		return v, nil
	}
	var parts []string
	for _, p := range [][2]string{{"stage", f.Stage}, {"tenant", f.Tenant}, {"type", f.Type}} {
		t, err := tok(p[0], p[1])
		if err != nil {
			return "", err
		}
		parts = append(parts, t)
	}
	return "orosync.dlq." + strings.Join(parts, ".") + ".>", nil
}

// Entry is one message of OROSYNC_DLQ. Err says why its body is not a dead letter (DeadLetter is then empty).
type Entry struct {
	Seq     uint64            `json:"seq"`
	Time    time.Time         `json:"time"`
	Subject string            `json:"subject"`
	Letter  events.DeadLetter `json:"deadLetter"`
	Err     string            `json:"error,omitempty"`
}

// Tokens are the stage, tenant, type and id of the entry's subject.
func (e Entry) Tokens() (stage, tenant, typ, id string) {
	t := strings.SplitN(strings.TrimPrefix(e.Subject, "orosync.dlq."), ".", 4)
	for len(t) < 4 {
		t = append(t, "")
	}
	return t[0], t[1], t[2], t[3]
}

func entryOf(m *jetstream.RawStreamMsg) Entry {
	e := Entry{Seq: m.Sequence, Time: m.Time, Subject: m.Subject}
	if err := json.Unmarshal(m.Data, &e.Letter); err != nil {
		e.Err = fmt.Sprintf("OROSYNC_DLQ #%d is not a dead letter: %v", m.Sequence, err)
	}
	return e
}

// Store is OROSYNC_DLQ on a JetStream connection.
type Store struct {
	js jetstream.JetStream
	st jetstream.Stream
}

// Open finds OROSYNC_DLQ.
func Open(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	st, err := js.Stream(ctx, events.StreamDeadLetter)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", events.StreamDeadLetter, err)
	}
	return &Store{js: js, st: st}, nil
}

// List is every dead letter f selects, oldest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Entry, error) {
	subject, err := f.Subject()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for seq := uint64(1); ; {
		m, err := s.st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s from #%d: %w", events.StreamDeadLetter, seq, err)
		}
		seq = m.Sequence + 1
		if e := entryOf(m); f.Reason == "" || strings.Contains(e.Letter.Reason, f.Reason) {
			out = append(out, e)
		}
	}
}

// Get is the entry at seq.
func (s *Store) Get(ctx context.Context, seq uint64) (Entry, error) {
	m, err := s.st.GetMsg(ctx, seq)
	if err != nil {
		return Entry{}, fmt.Errorf("%s #%d: %w", events.StreamDeadLetter, seq, err)
	}
	return entryOf(m), nil
}

// Purge removes the entries at seqs (those List returned: entries that arrived since are kept).
func (s *Store) Purge(ctx context.Context, seqs []uint64) (int, error) {
	for i, seq := range seqs {
		if err := s.st.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return i, fmt.Errorf("removing %s #%d: %w", events.StreamDeadLetter, seq, err)
		}
	}
	return len(seqs), nil
}
