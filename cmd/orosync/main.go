// Command orosync runs the OroCRM → Open Mercato sync: every service in one process (run), the bundled Oro
// simulator (sim), migrations (migrate), a status report (status) and the first-run demo (demo).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `orosync keeps an OroCRM instance and Open Mercato in sync through NATS JetStream.

Usage:
  orosync run      [flags]   run poller, transformer, writer and reconciler in one process (--services: some of them)
  orosync demo     [flags]   first run: a simulated Oro CRM → Mercato tables, then what landed where
  orosync sim      [flags]   run the Oro simulator alone (prints base URL and client credentials)
  orosync migrate  [flags]   create/upgrade orosync's own tables (--with-mercato-schema for dev/test databases)
  orosync status   [flags]   per tenant and type: records seen, applied, cursor, lag, reconciler alerts
  orosync reconcile [--confirm]  one reconcile round now, or release a tripped mass-delete breaker
  orosync conflicts list|show|resolve   the writer's review queue of sync conflicts
  orosync config check [flags]   test each connection: token, reads, capabilities, Mercato scope, NATS permissions
  orosync dlq list|show|redrive|purge  dead letters: list and show them, redrive them after a fix, or remove them
  orosync map      [flags]   preview a mapping: JSON:API document on stdin → changes as JSON lines (--report [--mercato]: fidelity)
  orosync replay   [flags]   re-transform ORO_RAW with another mapping version on a new durable consumer
  orosync nats-accounts [flags]  nats-server users with least privilege for every service and connection

"orosync COMMAND -h" (or "orosync help COMMAND") prints a command's flags, with the environment variable a flag
reads its default from where it has one; it does nothing else.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := exitCode(run(ctx, os.Args[1:], os.Stdout, os.Stderr), os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage is a mistake on the command line; the usage that explains it was printed already.
var errUsage = errors.New("usage")

// exitCode is 0 on success and after help was printed, 2 after a mistake on the command line, 1 after any other
// error, which it prints.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(stderr, "orosync:", err)
	return 1
}

// stdinReader is what `orosync map` reads (tests replace it).
var stdinReader io.Reader = os.Stdin

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr)
	case "demo":
		return cmdDemo(ctx, args[1:], stdout, stderr)
	case "sim":
		return cmdSim(ctx, args[1:], stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, args[1:], stdout, stderr)
	case "status":
		return cmdStatus(ctx, args[1:], stdout, stderr)
	case "conflicts":
		return cmdConflicts(ctx, args[1:], stdout, stderr)
	case "config":
		return cmdConfig(ctx, args[1:], stdout, stderr)
	case "dlq":
		return cmdDLQ(ctx, args[1:], stdout, stderr)
	case "map":
		return cmdMap(args[1:], stdinReader, stdout, stderr)
	case "replay":
		return cmdReplay(ctx, args[1:], stdout, stderr)
	case "nats-accounts":
		return cmdNATSAccounts(ctx, args[1:], stdout, stderr)
	case "reconcile":
		return cmdReconcile(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			return run(ctx, append(args[1:2:2], "-h"), stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return errUsage
}
