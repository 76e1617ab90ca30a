package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	writer "github.com/orosync/orosync/services/writer/service"
)

const conflictsUsage = `Usage:
  orosync conflicts list    [flags]                 the review queue (--status open|resolved|all)
  orosync conflicts show    [flags] ID              one entry: Oro's change, Mercato's values, the last synced snapshot
  orosync conflicts resolve [flags] ID RESOLUTION   RESOLUTION: oro | mercato | new | link:<customer_entities.id>

  oro      take Oro's side: its values for the conflicting fields, or the deletion
  mercato  keep Mercato's values (a locally edited record stays when Oro deleted it)
  new      (email match) create a new Mercato person for the Oro contact
  link:ID  (email match) link the Oro contact to that candidate and merge

"orosync conflicts list -h" prints the flags.
`

// conflictsArgs is the synopsis and the positional arguments of each conflicts command.
func conflictsArgs(sub string) (synopsis string, args int, ok bool) {
	switch sub {
	case "list":
		return "orosync conflicts list [flags]\n\nThe writer's review queue of sync conflicts.", 0, true
	case "show":
		return "orosync conflicts show [flags] ID\n\nOne entry: Oro's change, Mercato's values, the last synced snapshot.", 1, true
	case "resolve":
		return "orosync conflicts resolve [flags] ID oro|mercato|new|link:<customer_entities.id>\n\nResolves one entry.", 2, true
	}
	return "", 0, false
}

// cmdConflicts lists, shows and resolves the writer's review queue (orosync_conflicts).
func cmdConflicts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, err := subcommand("conflicts", conflictsUsage, conflictsArgs, args, stdout, stderr)
	if err != nil {
		return err
	}
	sub, nargs := args[0], fs.args
	var c common
	c.register(fs)
	var secret string
	fs.secretVar(&secret, "encryption-key", "", "Mercato's tenant data encryption `secret`, to read entries of an encrypted tenant "+
		"(default: the one Mercato uses, TENANT_DATA_ENCRYPTION_FALLBACK_KEY, else TENANT_DATA_ENCRYPTION_KEY)")
	status := fs.String("status", "open", "list: open, resolved or all")
	asJSON := fs.Bool("json", false, "print JSON")
	limit := fs.Int("limit", 100, "list: at most this many entries")
	if err := fs.parse(args[1:]); err != nil {
		return err
	}
	var id int64
	if nargs > 0 {
		if fs.NArg() < nargs {
			fmt.Fprintf(stderr, "missing arguments\n")
			fs.usage(stderr)
			return errUsage
		}
		n, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return fmt.Errorf("conflict id %q: %w", fs.Arg(0), err)
		}
		id = n
	}
	tid, oid, err := c.scope()
	if err != nil {
		return err
	}
	sc := writer.Scope{TenantID: tid, OrganizationID: oid}
	keys, err := writer.ReadEncryptionKeys(func(k string) string {
		if secret != "" && k == "TENANT_DATA_ENCRYPTION_FALLBACK_KEY" {
			return secret
		}
		return os.Getenv(k)
	})
	if err != nil {
		return err
	}
	sc.Pepper = keys.Pepper
	if sc.DEK, err = keys.TenantDEK(tid.String()); err != nil {
		return err
	}
	queue, err := writer.OpenReviewQueue(ctx, c.databaseURL, map[string]writer.Scope{c.tenant: sc})
	if err != nil {
		return err
	}
	defer queue.Close()
	switch sub {
	case "list":
		st := *status
		if st == "all" {
			st = ""
		}
		rows, err := queue.List(ctx, st, *limit)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, rows)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tORO RECORD\tMERCATO ENTITY\tFIELDS\tSTATUS\tUPDATED")
		for _, r := range rows {
			entity, fields := conflictCells(r)
			fmt.Fprintf(tw, "%d\t%s\t%s/%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.SourceType, r.SourceID, entity, fields, r.Status,
				r.UpdatedAt.Format("2006-01-02 15:04:05"))
		}
		return tw.Flush()
	case "show":
		r, err := queue.Get(ctx, id)
		if err != nil {
			return err
		}
		return printJSON(stdout, r)
	default: // resolve
		if err := queue.Resolve(ctx, id, fs.Arg(1)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "conflict %d resolved: %s\n", id, fs.Arg(1))
		return nil
	}
}

// conflictCells are the MERCATO ENTITY and FIELDS cells of an entry: its entity's id or "-", the fields in
// conflict or, for an email match, how many candidates.
func conflictCells(r writer.Conflict) (entity, fields string) {
	entity = "-"
	if r.EntityID != nil {
		entity = r.EntityID.String()
	}
	fields = strings.Join(r.Fields, ",")
	if r.Kind == writer.ConflictEmailMatch {
		fields = fmt.Sprintf("%d candidates", len(r.Candidates))
	}
	return entity, fields
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
