package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/dlq"
	reconciler "github.com/orosync/orosync/services/reconciler/service"
	writer "github.com/orosync/orosync/services/writer/service"
)

// opsView is what the operator page shows.
type opsView struct {
	Now          time.Time
	Done, Failed string // what the last action did, or why it failed
	Conns        []connView
	Conflicts    []conflictView
	ConflictsErr string
}

// connView is one connection: its types as `orosync status` shows them, its budget and active instances, the
// reconciler's breakers, its newest dead letters.
type connView struct {
	Name            string
	Types           []typeStatus
	Budget          *budgetSnapshot
	Leases          []string
	Breakers        []reconciler.TypeState
	DeadLetters     []deadLetterRow // newest first, at most opsDeadLetters
	DeadLetterTotal int
	Check           *checkRun // the latest connection check run from the page
	Errs            []string  // what could not be read
}

type deadLetterRow struct {
	Seq                           uint64
	Time                          time.Time
	Stage, Type, ID, Rule, Reason string
}

// conflictView is one open entry of the review queue with the resolutions that fit it.
type conflictView struct {
	writer.Conflict
	Entity, FieldList string
	Diffs             []fieldDiff
	Resolutions       []resolution
}

// fieldDiff is a field in conflict: Oro's value and Mercato's.
type fieldDiff struct{ Field, Oro, Mercato string }

type resolution struct{ Value, Label string }

// opsDeadLetters and opsConflicts bound what the page lists (the CLI lists them all).
const (
	opsDeadLetters = 20
	opsConflicts   = 100
)

var opsFuncs = template.FuncMap{
	"strategy": strategyColumn,
	"progress": progressColumn,
	"breaker":  breakerText,
	"audit":    auditCursorText,
	"when":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
}

// gather reads the page's numbers; what cannot be read is said on the page, the rest is shown.
func (p *opsPage) gather(ctx context.Context) opsView {
	v := opsView{Now: time.Now().UTC()}
	kv, js, store, closeFn, err := p.openNATS(ctx)
	for _, c := range p.conns {
		cv := connView{Name: c.Name}
		if last, ok := p.checks.get(c.Name); ok {
			cv.Check = &last
		}
		if err != nil {
			cv.Errs = append(cv.Errs, err.Error())
		} else {
			p.readConnection(ctx, &cv, kv, js, store)
		}
		rows, serr := status(ctx, p.natsURL, p.databaseURL, c.Name, c.Types, c.Scope.TenantID, c.Scope.OrganizationID)
		if serr != nil {
			cv.Errs = append(cv.Errs, serr.Error())
		}
		cv.Types = rows
		v.Conns = append(v.Conns, cv)
	}
	if closeFn != nil {
		closeFn()
	}
	rows, err := p.queue.List(ctx, "open", opsConflicts)
	if err != nil {
		v.ConflictsErr = err.Error()
	}
	for _, r := range rows {
		v.Conflicts = append(v.Conflicts, conflictOf(r))
	}
	return v
}

// openNATS opens the cursor bucket and the dead letters' stream.
func (p *opsPage) openNATS(ctx context.Context) (jetstream.KeyValue, jetstream.JetStream, *dlq.Store, func(), error) {
	js, closeNC, err := connectJS(p.natsURL, "orosync-ops")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	kv, err := js.KeyValue(ctx, "OROSYNC_CURSORS")
	if err != nil {
		closeNC()
		return nil, nil, nil, nil, fmt.Errorf("bucket OROSYNC_CURSORS: %w", err)
	}
	store, err := dlq.Open(ctx, js)
	if err != nil {
		closeNC()
		return nil, nil, nil, nil, err
	}
	return kv, js, store, closeNC, nil
}

// readConnection adds the budget, the active instances, the breakers and the dead letters of cv's connection.
func (p *opsPage) readConnection(ctx context.Context, cv *connView, kv jetstream.KeyValue, js jetstream.JetStream, store *dlq.Store) {
	if b, ok, err := readBudgetState(ctx, kv, cv.Name); err != nil {
		cv.Errs = append(cv.Errs, err.Error())
	} else if ok {
		cv.Budget = &b
	}
	cv.Leases = leaseLines(ctx, kv, cv.Name)
	var err error
	if cv.Breakers, err = reconciler.States(ctx, kv, cv.Name, ""); err != nil {
		cv.Errs = append(cv.Errs, "reconciler: "+err.Error())
	}
	entries, total, err := newestDeadLetters(ctx, js, store, cv.Name, opsDeadLetters)
	if err != nil {
		cv.Errs = append(cv.Errs, "dead letters: "+err.Error())
	}
	cv.DeadLetterTotal = total
	for _, e := range entries {
		stage, _, typ, id := e.Tokens()
		reason := e.Letter.Reason
		if e.Err != "" {
			reason = e.Err
		}
		cv.DeadLetters = append(cv.DeadLetters, deadLetterRow{Seq: e.Seq, Time: e.Time, Stage: stage, Type: typ, ID: id,
			Rule: orDash(e.Letter.Rule), Reason: reason})
	}
}

// conflictOf is an entry as the page shows it: its fields' two values, and what resolves it.
func conflictOf(r writer.Conflict) conflictView {
	v := conflictView{Conflict: r}
	v.Entity, v.FieldList = conflictCells(r)
	var oro, local any = r.Change.Person, r.Local
	if r.Change.Company != nil || r.LocalCompany != nil {
		oro, local = r.Change.Company, r.LocalCompany
	}
	o, l := jsonFields(oro), jsonFields(local)
	for _, f := range r.Fields {
		v.Diffs = append(v.Diffs, fieldDiff{Field: f, Oro: o[f], Mercato: l[f]})
	}
	if r.Kind == writer.ConflictEmailMatch {
		v.Resolutions = append(v.Resolutions, resolution{"new", "new: create a new Mercato person"})
		for _, c := range r.Candidates {
			v.Resolutions = append(v.Resolutions, resolution{"link:" + c.EntityID,
				fmt.Sprintf("link to %s (%s)", c.Person.DisplayName, c.EntityID)})
		}
		return v
	}
	oroLabel := "oro: take Oro's values"
	if r.Kind == writer.ConflictDeleteLocalEdit {
		oroLabel = "oro: delete it, as Oro did"
	}
	v.Resolutions = append(v.Resolutions, resolution{"oro", oroLabel}, resolution{"mercato", "mercato: keep Mercato's values"})
	return v
}

// jsonFields are the fields of v by their JSON names, as text ("" for none).
func jsonFields(v any) map[string]string {
	out := map[string]string{}
	b, err := json.Marshal(v)
	if err != nil {
		return out
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return out
	}
	for k, x := range m {
		if x != nil {
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}
