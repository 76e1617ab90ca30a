package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// RecordRef names one Oro record of one tenant (an orosync connection).
type RecordRef struct {
	Tenant string `json:"tenant"`
	Type   string `json:"type"`
	ID     string `json:"id"`
}

func (r RecordRef) String() string { return r.Tenant + "/" + r.Type + "/" + r.ID }

// RawRecord is one observed version of an Oro resource, exactly as Oro sent it, with the included resources it
// references. ORO_RAW keeps every one of them: it is the audit trail a replay rebuilds Mercato from.
type RawRecord struct {
	RecordRef
	// UpdatedAt is Oro's updatedAt attribute; absent for types that have none.
	UpdatedAt   *time.Time        `json:"updatedAt,omitempty"`
	PayloadHash string            `json:"payloadHash"`
	ObservedAt  time.Time         `json:"observedAt"`
	Via         string            `json:"via"` // poll, webhook
	Resource    json.RawMessage   `json:"resource"`
	Included    []json.RawMessage `json:"included,omitempty"`
}

// Tombstone says an Oro record no longer exists. It travels on the record's raw subject, so the record's history
// ends with it, and a replay deletes what it deleted.
type Tombstone struct {
	RecordRef
	DeletedAt time.Time `json:"deletedAt"`
	Reason    string    `json:"reason"` // diff (id-diff before), audit, webhook
	// LastSeen is the source version last applied for the record, when known.
	LastSeen *SourceVersion `json:"lastSeen,omitempty"`
	// Op marks the message as a delete for consumers that read bodies only (always OpDelete when set).
	Op string `json:"op,omitempty"`
	// Evidence is why orosync believes the record is gone: Oro's audit row, or the reconcile passes that missed it.
	Evidence *TombstoneEvidence `json:"evidence,omitempty"`
}

// Tombstone reasons.
const (
	ReasonAudit   = "audit"   // Oro's data audit logged the remove
	ReasonDiff    = "diff"    // missing from complete id listings in consecutive reconcile passes
	ReasonWebhook = "webhook" // Oro's <alias>.deleted webhook
)

// TombstoneEvidence backs a tombstone: AuditID and LoggedAt for ReasonAudit, Passes (reconcile pass ids, oldest
// first) for ReasonDiff.
type TombstoneEvidence struct {
	AuditID  int64      `json:"auditId,omitempty"`
	LoggedAt *time.Time `json:"loggedAt,omitempty"`
	Passes   []string   `json:"passes,omitempty"`
}

// SourceVersion orders versions of one record: Oro's updatedAt first, then the payload hash.
type SourceVersion struct {
	UpdatedAt   time.Time `json:"updatedAt"`
	PayloadHash string    `json:"payloadHash"`
}

// Compare returns -1, 0 or +1. Ties on updatedAt (Oro keeps seconds) are broken by the hash so that every replica
// of the writer converges on the same winner whatever the arrival order.
func (v SourceVersion) Compare(o SourceVersion) int {
	if c := v.UpdatedAt.Compare(o.UpdatedAt); c != 0 {
		return c
	}
	return strings.Compare(v.PayloadHash, o.PayloadHash)
}

// Change operations.
const (
	OpUpsert = "upsert"
	OpDelete = "delete"
)

// Aggregates (Mercato resource kinds, as sync_external_id_mappings.internal_entity_type spells them).
const (
	AggregatePerson = "customers.person"
)

// AggregateToken is the short form used in change subjects (customers.person → person).
func AggregateToken(aggregate string) string {
	if i := strings.LastIndexByte(aggregate, '.'); i >= 0 {
		return aggregate[i+1:]
	}
	return aggregate
}

// Change is a normalized upsert or delete of one Mercato aggregate, derived from one Oro record version by one
// mapping version. Related records are referenced by Oro type and id; the writer resolves them.
type Change struct {
	Tenant         string        `json:"tenant"`
	Op             string        `json:"op"`
	Aggregate      string        `json:"aggregate"`
	Source         RecordRef     `json:"source"`
	SourceVersion  SourceVersion `json:"sourceVersion"`
	MappingVersion string        `json:"mappingVersion"`
	Person         *Person       `json:"person,omitempty"`
	// Exactly one of the payloads below is set on an upsert, the one Aggregate names (see aggregates.go).
	Company     *Company     `json:"company,omitempty"`
	Deal        *Deal        `json:"deal,omitempty"`
	Interaction *Interaction `json:"interaction,omitempty"`
	Comment     *Comment     `json:"comment,omitempty"`
	User        *User        `json:"user,omitempty"`
}

// Person is the customers.person aggregate: a customer_entities row of kind person and its customer_people row.
type Person struct {
	DisplayName  string  `json:"displayName"`
	PrimaryEmail *string `json:"primaryEmail"`
	PrimaryPhone *string `json:"primaryPhone"`
	FirstName    *string `json:"firstName"`
	LastName     *string `json:"lastName"`
	JobTitle     *string `json:"jobTitle"`
	// Optional additions (mapping v2); a writer that ignores them still writes the person as before.
	// LifecycleStage is customer_entities.lifecycle_stage ("lead" for Oro leads).
	LifecycleStage *string `json:"lifecycleStage,omitempty"`
	Description    *string `json:"description,omitempty"`
	// LinkedInURL and TwitterURL are customer_people.linked_in_url / twitter_url: http(s) URLs, as Mercato's
	// validator wants them (the mapping keeps a handle it cannot make one as a custom field).
	LinkedInURL *string `json:"linkedInUrl,omitempty"`
	TwitterURL  *string `json:"twitterUrl,omitempty"`
	// Source and Status are customer_entities.source / status: values of Mercato's source and status dictionaries
	// (an Oro contact's or lead's source, a lead's status).
	Source *string `json:"source,omitempty"`
	Status *string `json:"status,omitempty"`
	// Emails and Phones are every address and number, the primary first.
	Emails []string `json:"emails,omitempty"`
	Phones []string `json:"phones,omitempty"`
	// Addresses become customer_addresses rows; CompanyLinks customer_person_company_links rows, one per Oro
	// account, the primary one (Oro's defaultInAccounts) also customer_people.company_entity_id.
	Addresses    []Address     `json:"addresses,omitempty"`
	CompanyLinks []CompanyLink `json:"companyLinks,omitempty"`
	Extras
}

// CustomerEvent is the payload of a Mercato customers event (customers.person.created, ...), shaped exactly like
// the one Mercato's own commands emit, plus syncOrigin so subscribers can skip what the sync itself caused.
type CustomerEvent struct {
	ID             string `json:"id"`
	EntityID       string `json:"entityId"`
	OrganizationID string `json:"organizationId"`
	TenantID       string `json:"tenantId"`
	SyncOrigin     string `json:"syncOrigin"`
}

// SyncOrigin marks everything orosync writes into Mercato; it is also the integration_id of its external ids.
const SyncOrigin = "sync_orocrm"

// DeadLetter is one message a stage could not handle, with the reason, so an operator can fix and redrive it.
type DeadLetter struct {
	Stage    string            `json:"stage"`
	Record   *RecordRef        `json:"record,omitempty"`
	Field    string            `json:"field,omitempty"`
	Rule     string            `json:"rule,omitempty"`
	Reason   string            `json:"reason"`
	Stream   string            `json:"stream,omitempty"`
	Subject  string            `json:"subject,omitempty"`
	Sequence uint64            `json:"sequence,omitempty"`
	MsgID    string            `json:"msgId,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
	// The original body, in the one form that gives its bytes back exactly (see SetPayload): Payload when it is
	// JSON as encoding writes it, PayloadText when it is other UTF-8 text, PayloadBase64 otherwise. None is kept
	// for a message too big to store (rule max-size): Size and Limit say by how much, and the reason where the
	// original is.
	Payload       json.RawMessage `json:"payload,omitempty"`
	PayloadText   string          `json:"payloadText,omitempty"`
	PayloadBase64 []byte          `json:"payloadBase64,omitempty"`
	Size          int             `json:"size,omitempty"`
	Limit         int             `json:"limit,omitempty"`
	FailedAt      time.Time       `json:"failedAt"`
}

// SetPayload stores the original body so that OriginalPayload gives back the same bytes: as JSON when encoding
// it within the dead letter leaves it unchanged (compact, nothing HTML-escaped), as text when it is UTF-8, else
// in base64.
func (d *DeadLetter) SetPayload(b []byte) {
	d.Payload, d.PayloadText, d.PayloadBase64 = nil, "", nil
	switch {
	case json.Valid(b) && encodesAsIs(b):
		d.Payload = append(json.RawMessage(nil), b...)
	case utf8.Valid(b):
		d.PayloadText = string(b)
	default:
		d.PayloadBase64 = append([]byte(nil), b...)
	}
}

// encodesAsIs says whether json.Marshal writes the JSON value b as the same bytes.
func encodesAsIs(b []byte) bool {
	enc, err := json.Marshal(json.RawMessage(b))
	return err == nil && bytes.Equal(enc, b)
}

// OriginalPayload is the original body as SetPayload stored it; false when the dead letter keeps none.
func (d DeadLetter) OriginalPayload() ([]byte, bool) {
	switch {
	case d.Payload != nil:
		return d.Payload, true
	case d.PayloadText != "":
		return []byte(d.PayloadText), true
	case d.PayloadBase64 != nil:
		return d.PayloadBase64, true
	}
	return nil, false
}

// PayloadHash is the hex SHA-256 of the canonical form of a JSON value (object keys sorted, insignificant space
// dropped), so the same content hashes the same whatever key order or spacing Oro used.
func PayloadHash(raw []byte) (string, error) {
	var h Hasher
	return h.PayloadHash(raw)
}

// ResourceHash is the payload hash of a JSON:API resource object without its HATEOAS links (top-level and per
// relationship): links depend on how the resource was fetched (poll with noHateoas, webhook, base URL), not on
// its content, so the same version hashes, and is de-duplicated, the same whichever way it arrived.
func ResourceHash(raw []byte) (string, error) {
	var h Hasher
	return h.ResourceHash(raw)
}

// ID derives a deterministic message id from its parts: the same version of the same record always gets the same
// Nats-Msg-Id, so publishing it twice is a no-op inside the stream's duplicate window.
func ID(kind string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return kind + "-" + hex.EncodeToString(h.Sum(nil)[:16])
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// MsgID of a raw record version.
func (r RawRecord) MsgID() string {
	return ID("raw", r.Tenant, r.Type, r.ID, fmtTime(r.UpdatedAt), r.PayloadHash)
}

// Version is the record's source version (a zero updatedAt when the type has none).
func (r RawRecord) Version() SourceVersion {
	v := SourceVersion{PayloadHash: r.PayloadHash}
	if r.UpdatedAt != nil {
		v.UpdatedAt = r.UpdatedAt.UTC()
	}
	return v
}

// MsgID of a tombstone: one per deletion of the last seen version, however many passes notice it.
func (t Tombstone) MsgID() string {
	last := ""
	if t.LastSeen != nil {
		last = t.LastSeen.UpdatedAt.UTC().Format(time.RFC3339Nano) + "/" + t.LastSeen.PayloadHash
	}
	return ID("tomb", t.Tenant, t.Type, t.ID, last)
}

// MsgID of a change.
func (c Change) MsgID() string {
	return ID("chg", c.Tenant, c.Op, c.Aggregate, c.Source.Type, c.Source.ID,
		c.SourceVersion.UpdatedAt.UTC().Format(time.RFC3339Nano), c.SourceVersion.PayloadHash, c.MappingVersion)
}

// Subject of a change.
func (c Change) Subject() (string, error) {
	return ChangeSubject(c.Tenant, AggregateToken(c.Aggregate), c.Source.Type, c.Source.ID)
}

// Message gives the subject, CloudEvents envelope and body a dead letter is published with.
func (d DeadLetter) Message() (subject string, env Envelope, body []byte) {
	ref := RecordRef{}
	if d.Record != nil {
		ref = *d.Record
	}
	tenant := ref.Tenant
	if !ValidToken(tenant) {
		tenant = "_invalid"
	}
	body, _ = json.Marshal(d) // a DeadLetter always encodes
	// Every failure is its own entry: a redriven message that fails again must not be de-duplicated away.
	id := ID("dlq", d.Stage, d.Subject, d.MsgID, d.Reason, strconv.FormatUint(d.Sequence, 10), d.FailedAt.UTC().Format(time.RFC3339Nano))
	env = Envelope{ID: id, Source: Source(tenant, d.Stage),
		Type: TypeDeadLetter, Subject: d.Subject, Time: d.FailedAt}
	return DeadLetterSubject(d.Stage, ref), env, body
}

// RecordEvent is the default Mercato event payload (customers.address.*, customers.deal.*, customers.comment.*):
// {id, organizationId, tenantId} plus syncOrigin.
type RecordEvent struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organizationId"`
	TenantID       string `json:"tenantId"`
	SyncOrigin     string `json:"syncOrigin"`
}

// PersonCompanyLinkEvent is the payload of customers.person_company_link.* (Mercato reference §3).
type PersonCompanyLinkEvent struct {
	ID              string `json:"id"`
	OrganizationID  string `json:"organizationId"`
	TenantID        string `json:"tenantId"`
	PersonEntityID  string `json:"personEntityId"`
	CompanyEntityID string `json:"companyEntityId"`
	SyncOrigin      string `json:"syncOrigin"`
}

// Conflict events: the writer's review queue (orosync conflicts list|show|resolve) announces itself on
// mercato.events.<tenant>.orosync.conflict.{opened,resolved}.<id>.
const (
	EventConflictOpened   = "orosync.conflict.opened"
	EventConflictResolved = "orosync.conflict.resolved"
)

// ConflictEvent is the payload of the conflict events.
type ConflictEvent struct {
	ID             int64  `json:"id"`
	Kind           string `json:"kind"` // field-merge, email-match, delete-local-edit
	SourceType     string `json:"sourceType"`
	SourceID       string `json:"sourceId"`
	EntityID       string `json:"entityId,omitempty"`
	Resolution     string `json:"resolution,omitempty"`
	OrganizationID string `json:"organizationId"`
	TenantID       string `json:"tenantId"`
	SyncOrigin     string `json:"syncOrigin"`
}
