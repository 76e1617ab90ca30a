package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/orosync/orosync/contracts/dlq"
)

const dlqUsage = `Usage:
  orosync dlq list    [flags]           the dead letters of OROSYNC_DLQ, oldest first
  orosync dlq show    [flags] SEQ       one dead letter whole, its payload pretty-printed
  orosync dlq redrive [flags] [SEQ...]  republish each one's original message to its original subject, then remove it
                                        (no SEQ: every one the filters select, with --yes)
  orosync dlq purge   [flags]           remove the dead letters the filters select (with --yes; without, list them)

Filters of list, redrive and purge: --stage, --tenant, --type (subject tokens), --reason (a substring).
"orosync dlq list -h" prints the flags.
`

// dlqArgs is the synopsis and the positional arguments of each dlq command.
func dlqArgs(sub string) (synopsis string, args int, ok bool) {
	switch sub {
	case "list":
		return "orosync dlq list [flags]\n\nThe dead letters of OROSYNC_DLQ the filters select, oldest first.", 0, true
	case "show":
		return "orosync dlq show [flags] SEQ\n\nThe dead letter at OROSYNC_DLQ sequence SEQ, whole, its payload pretty-printed.", 1, true
	case "redrive":
		return `orosync dlq redrive [flags] [SEQ...]

Republishes the original message of each dead letter (its exact body, its headers less Nats-Msg-Id) to its
original subject and, once a stream has stored it, removes the dead letter. Without SEQ: every dead letter the
filters select, with --yes (without it, lists them). A dead letter that keeps no payload (rule max-size) is not
redriven: its reason says where the original is.`, math.MaxInt, true
	case "purge":
		return "orosync dlq purge [flags]\n\nRemoves the dead letters the filters select, with --yes; without it, lists them.", 0, true
	}
	return "", 0, false
}

// dlqFlags are the flags of the dlq commands.
type dlqFlags struct {
	natsURL string
	filter  dlq.Filter
	asJSON  bool
	yes     bool
}

// cmdDLQ lists, shows, redrives and purges the dead letters of OROSYNC_DLQ.
func cmdDLQ(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, err := subcommand("dlq", dlqUsage, dlqArgs, args, stdout, stderr)
	if err != nil {
		return err
	}
	sub, nargs := args[0], fs.args
	var f dlqFlags
	fs.urlVar(&f.natsURL, "nats-url", env("OROSYNC_NATS_URL", "nats://127.0.0.1:4333"), "NATS server `URL` with JetStream holding OROSYNC_DLQ (OROSYNC_NATS_URL)")
	if sub != "show" {
		fs.StringVar(&f.filter.Stage, "stage", "", "only dead letters of this `stage`: poller, transformer, writer or reconciler")
		fs.StringVar(&f.filter.Tenant, "tenant", "", "only dead letters of this connection")
		fs.StringVar(&f.filter.Type, "type", "", "only dead letters of this Oro `type`")
		fs.StringVar(&f.filter.Reason, "reason", "", "only dead letters whose reason contains this `text`")
	}
	if sub == "list" {
		fs.BoolVar(&f.asJSON, "json", false, "print JSON")
	}
	if sub == "redrive" || sub == "purge" {
		fs.BoolVar(&f.yes, "yes", false, "do it (without SEQ arguments): without --yes, list what it would do")
	}
	if err := fs.parse(args[1:]); err != nil {
		return err
	}
	seqs, err := dlqSeqs(fs, nargs)
	if err != nil {
		return err
	}
	js, closeNC, err := connectJS(f.natsURL, "orosync-dlq")
	if err != nil {
		return err
	}
	defer closeNC()
	store, err := dlq.Open(ctx, js)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		return dlqList(ctx, store, f, stdout)
	case "show":
		return dlqShow(ctx, store, seqs[0], stdout)
	case "redrive":
		return dlqRedrive(ctx, store, f, seqs, stdout, stderr)
	default:
		return dlqPurge(ctx, store, f, stdout)
	}
}

// dlqSeqs reads the SEQ arguments.
func dlqSeqs(fs *command, nargs int) ([]uint64, error) {
	if nargs == 1 && fs.NArg() < 1 {
		fmt.Fprintf(fs.stderr, "missing arguments\n")
		fs.usage(fs.stderr)
		return nil, errUsage
	}
	var seqs []uint64
	for _, a := range fs.Args() {
		n, err := strconv.ParseUint(strings.TrimPrefix(a, "#"), 10, 64)
		if err != nil || n == 0 {
			fmt.Fprintf(fs.stderr, "%q is not a dead letter's sequence\n", a)
			fs.usage(fs.stderr)
			return nil, errUsage
		}
		seqs = append(seqs, n)
	}
	return seqs, nil
}

func dlqList(ctx context.Context, store *dlq.Store, f dlqFlags, stdout io.Writer) error {
	entries, err := store.List(ctx, f.filter)
	if err != nil {
		return err
	}
	if f.asJSON {
		return printJSON(stdout, entries)
	}
	return printDeadLetters(stdout, entries)
}

// printDeadLetters is a table of entries, a line each, the reason shortened.
func printDeadLetters(w io.Writer, entries []dlq.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tSTAGE\tTENANT\tTYPE\tID\tRULE\tREASON")
	for _, e := range entries {
		stage, tenant, typ, id := e.Tokens()
		reason := e.Letter.Reason
		if e.Err != "" {
			reason = e.Err
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.UTC().Format("2006-01-02 15:04:05"), stage, tenant, typ,
			id, orDash(e.Letter.Rule), shorten(reason, 100))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shorten is s on one line, cut to n runes with an ellipsis.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func dlqShow(ctx context.Context, store *dlq.Store, seq uint64, stdout io.Writer) error {
	e, err := store.Get(ctx, seq)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return err
	}
	if _, err := buf.WriteTo(stdout); err != nil {
		return err
	}
	// A JSON payload kept as text (to give its bytes back exactly) is shown pretty too.
	if body, ok := e.Letter.OriginalPayload(); ok && e.Letter.Payload == nil && json.Valid(body) {
		buf.Reset()
		if err := json.Indent(&buf, body, "", "  "); err == nil {
			fmt.Fprintf(stdout, "payload, pretty-printed:\n%s\n", buf.Bytes())
		}
	}
	return nil
}

func dlqRedrive(ctx context.Context, store *dlq.Store, f dlqFlags, seqs []uint64, stdout, stderr io.Writer) error {
	if len(seqs) == 0 {
		entries, err := store.List(ctx, f.filter)
		if err != nil {
			return err
		}
		if !f.yes {
			return preview(stdout, entries, "redriven", "redrive")
		}
		for _, e := range entries {
			seqs = append(seqs, e.Seq)
		}
	}
	failed := 0
	for _, seq := range seqs {
		r, err := store.Redrive(ctx, seq)
		if err != nil {
			failed++
			fmt.Fprintf(stderr, "OROSYNC_DLQ #%d not redriven: %v\n", seq, err)
			if !errors.Is(err, dlq.ErrNotRedrivable) && ctx.Err() != nil {
				break
			}
			continue
		}
		fmt.Fprintf(stdout, "redrove OROSYNC_DLQ #%d to %s (%s #%d)\n", seq, r.Subject, r.Stream, r.At)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d dead letters not redriven", failed, len(seqs))
	}
	return nil
}

// preview lists the dead letters a command without --yes would act on.
func preview(stdout io.Writer, entries []dlq.Entry, done, do string) error {
	if err := printDeadLetters(stdout, entries); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d dead letters would be %s; again with --yes to %s them\n", len(entries), done, do)
	return nil
}

func dlqPurge(ctx context.Context, store *dlq.Store, f dlqFlags, stdout io.Writer) error {
	entries, err := store.List(ctx, f.filter)
	if err != nil {
		return err
	}
	if !f.yes {
		return preview(stdout, entries, "removed", "remove")
	}
	seqs := make([]uint64, len(entries))
	for i, e := range entries {
		seqs[i] = e.Seq
	}
	n, err := store.Purge(ctx, seqs)
	fmt.Fprintf(stdout, "removed %d dead letters\n", n)
	return err
}
