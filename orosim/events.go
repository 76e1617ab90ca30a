package orosim

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Every write, whatever its entry point (Go API, admin endpoint, /api, drift
// fault), goes through createRecord, updateRecord or removeRecord, which
// write the audit row and queue the webhook deliveries Oro would.

func (s *Server) createRecord(typ string, attrs map[string]any, user int64) (*record, error) {
	rec, err := s.store.create(typ, attrs, s.clock())
	if err != nil {
		return nil, err
	}
	s.changed(typ, "create", nil, rec, user)
	return rec, nil
}

func (s *Server) updateRecord(typ string, id int64, attrs map[string]any, user int64) (*record, error) {
	prev, next, err := s.store.update(typ, id, attrs, s.clock())
	if err != nil {
		return nil, err
	}
	s.changed(typ, "update", prev, next, user)
	return next, nil
}

func (s *Server) removeRecord(typ string, id int64, user int64) error {
	prev, err := s.store.remove(typ, id)
	if err != nil {
		return err
	}
	s.changed(typ, "remove", prev, nil, user)
	return nil
}

// changed records one write: an audit row for auditable types and webhook
// deliveries for subscribed topics.
func (s *Server) changed(typ, action string, prev, next *record, user int64) {
	def, _ := s.store.def(typ)
	s.audit.record(def, action, prev, next, user, s.clock())
	s.hooks.fire(s, def, action, prev, next)
}

// entity describes the Doctrine entity behind a JSON:API type: its class
// (objectClass of audit rows), its alias (webhook topics) and whether
// DataAuditBundle tracks it.
type entity struct {
	class     string
	alias     string
	auditable bool
}

// entities maps JSON:API types to their Oro entities. Contact, Account,
// Opportunity, Lead, Case and Task are dataaudit.auditable; Call and Note
// are not (reference §8). ContactAddress is auditable too (its entity
// config), LeadAddress and Address are not.
var entities = map[string]entity{
	"contacts":         {`Oro\Bundle\ContactBundle\Entity\Contact`, "contact", true},
	"accounts":         {`Oro\Bundle\AccountBundle\Entity\Account`, "account", true},
	"opportunities":    {`Oro\Bundle\SalesBundle\Entity\Opportunity`, "opportunity", true},
	"leads":            {`Oro\Bundle\SalesBundle\Entity\Lead`, "lead", true},
	"cases":            {`Oro\Bundle\CaseBundle\Entity\CaseEntity`, "case", true},
	"tasks":            {`Oro\Bundle\TaskBundle\Entity\Task`, "task", true},
	"calls":            {`Oro\Bundle\CallBundle\Entity\Call`, "call", false},
	"notes":            {`Oro\Bundle\NoteBundle\Entity\Note`, "note", false},
	"contactaddresses": {`Oro\Bundle\ContactBundle\Entity\ContactAddress`, "contactaddress", true},
	"leadaddresses":    {`Oro\Bundle\SalesBundle\Entity\LeadAddress`, "leadaddress", false},
	"addresses":        {`Oro\Bundle\AddressBundle\Entity\Address`, "address", false},
	"b2bcustomers":     {`Oro\Bundle\SalesBundle\Entity\B2bCustomer`, "b2bcustomer", false},
	"emails":           {`Oro\Bundle\EmailBundle\Entity\Email`, "email", false},
	"users":            {`Oro\Bundle\UserBundle\Entity\User`, "user", false},
}

func entityOf(typ string) entity {
	if e, ok := entities[typ]; ok {
		return e
	}
	return entity{class: "Oro\\Bundle\\" + typ, alias: strings.TrimSuffix(typ, "s")}
}

// objectName is the entity's string form, as Oro stores it in audit rows.
func objectName(r *record) string {
	for _, pair := range [][]string{{"firstName", "lastName"}, {"name"}, {"subject"}} {
		var parts []string
		for _, k := range pair {
			if v, ok := r.str(k); ok && v != "" {
				parts = append(parts, v)
			}
		}
		if len(parts) > 0 {
			return strings.Join(parts, " ")
		}
	}
	return r.idString()
}

// auditValue renders a stored value the way the legacy API shows it.
func auditValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(auditTime)
	case []string:
		return strings.Join(x, ", ")
	case []ref:
		ids := make([]string, len(x))
		for i, r := range x {
			ids[i] = r.ID
		}
		return strings.Join(ids, ", ")
	}
	return v
}

// auditTime is the legacy REST API's datetime format.
const auditTime = "2006-01-02T15:04:05+00:00"

// diff lists the audited changes between two versions of a record in the
// type's field order; server-set timestamps are not audited.
func diff(def *typeDef, prev, next *record) object {
	var out object
	get := func(r *record, name string, rel bool) any {
		if r == nil {
			return nil
		}
		if rel {
			if refs := r.Rels[name]; len(refs) > 0 {
				return refs
			}
			return nil
		}
		v := r.Attrs[name]
		if l, ok := v.([]string); ok && len(l) == 0 {
			return nil
		}
		return v
	}
	add := func(name string, rel bool) {
		o, n := get(prev, name, rel), get(next, name, rel)
		if fmt.Sprint(o) == fmt.Sprint(n) {
			return
		}
		out = append(out, member{name, object{{"old", auditValue(o)}, {"new", auditValue(n)}}})
	}
	for _, a := range def.Attrs {
		if !a.ServerSet {
			add(a.Name, false)
		}
	}
	for _, r := range def.Rels {
		if !strings.HasPrefix(r.Name, "activity") {
			add(r.Name, true)
		}
	}
	return out
}

// auditEntry is one row of oro_audit.
type auditEntry struct {
	ID       int64
	Action   string // create, update, remove
	Version  int
	Class    string
	Name     string
	ObjectID int64
	LoggedAt time.Time
	User     int64
	Data     object
}

func (e auditEntry) json() object {
	var data any = e.Data
	if len(e.Data) == 0 {
		data = []any{} // PHP serializes an empty array as []
	}
	return object{
		{"id", e.ID}, {"action", e.Action}, {"version", int64(e.Version)},
		{"objectClass", e.Class}, {"objectName", e.Name}, {"objectId", e.ObjectID},
		{"loggedAt", e.LoggedAt.UTC().Format(auditTime)}, {"user", e.User}, {"data", data},
	}
}

// auditLog is DataAuditBundle's table, newest last.
type auditLog struct {
	entries  []auditEntry
	versions map[string]int // class#id → last version
}

func (l *auditLog) record(def *typeDef, action string, prev, next *record, user int64, now time.Time) {
	e := entityOf(def.Name)
	if !e.auditable {
		return
	}
	data := diff(def, prev, next)
	if action == "update" && len(data) == 0 {
		return // Oro writes no row when no audited field changed
	}
	if action == "remove" {
		data = nil
	}
	r := next
	if r == nil {
		r = prev
	}
	key := e.class + "#" + r.idString()
	l.versions[key]++
	l.entries = append(l.entries, auditEntry{
		ID: int64(len(l.entries) + 1), Action: action, Version: l.versions[key],
		Class: e.class, Name: objectName(r), ObjectID: r.ID, LoggedAt: now, User: user, Data: data,
	})
}

// auditStore guards the audit log; writes come from concurrent requests.
type auditStore struct {
	mu  sync.Mutex
	log auditLog
}

func newAuditStore() *auditStore {
	return &auditStore{log: auditLog{versions: map[string]int{}}}
}

func (a *auditStore) record(def *typeDef, action string, prev, next *record, user int64, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.log.record(def, action, prev, next, user, now)
}

// snapshot returns the rows so far; rows are never changed once written.
func (a *auditStore) snapshot() []auditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clip(a.log.entries)
}
