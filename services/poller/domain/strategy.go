package domain

import (
	"strings"
	"time"
)

// Capabilities is what a probe found out about one Oro type on one connection (reference §3.13, §7, §8).
type Capabilities struct {
	Type     string    `json:"type"`
	ProbedAt time.Time `json:"probedAt"`
	// MaxPageSize is the largest page[size] Oro accepts (oro_api.max_entities), capped at what was asked for.
	MaxPageSize int `json:"maxPageSize"`
	// PageSizeAsked is the page size the probe asked for (a later run wanting more probes again).
	PageSizeAsked int `json:"pageSizeAsked"`
	// FilterUpdatedAt and SortUpdatedAt say whether filter[updatedAt] and sort=updatedAt work; Oro only offers
	// them on indexed columns (accounts and opportunities have none). UpdatedAtNote is Oro's answer when not.
	FilterUpdatedAt bool   `json:"filterUpdatedAt"`
	SortUpdatedAt   bool   `json:"sortUpdatedAt"`
	UpdatedAtNote   string `json:"updatedAtNote,omitempty"`
	// Audited says Oro audits the entity out of the box (dataaudit.auditable); AuditAccess that the audit log
	// answered; AuditNote why not ("403 forbidden").
	Audited     bool   `json:"audited"`
	AuditAccess bool   `json:"auditAccess"`
	AuditNote   string `json:"auditNote,omitempty"`
	// Webhooks says Oro has enabled subscriptions for the type's created and updated topics to this poller's
	// receiver; WebhookNote why not.
	Webhooks    bool   `json:"webhooks"`
	WebhookNote string `json:"webhookNote,omitempty"`
}

// Strategy is how a type's changes are found.
type Strategy string

// Delta strategies, cheapest first.
const (
	// Keyset pages on (updatedAt, id) from the cursor: one request per page of changes.
	Keyset Strategy = "keyset"
	// AuditLog reads the ids created or updated since its cursor from Oro's audit log and fetches them in
	// batches with filter[id]=a,b,c (after one id-ordered baseline pass).
	AuditLog Strategy = "audit-log"
	// HashScan reads the whole type in id order each round and publishes only records whose content hash
	// differs from the version last published.
	HashScan Strategy = "hash-scan"
)

// Choice is the strategy picked for a type and why (shown by `orosync status`).
type Choice struct {
	Strategy Strategy `json:"strategy"`
	// Webhooks: Oro pushes the type's changes; the strategy runs at the longer safety-net interval.
	Webhooks bool   `json:"webhooks"`
	Reason   string `json:"reason"`
}

// Choose picks the cheapest strategy the capabilities allow.
func Choose(c Capabilities) Choice {
	var ch Choice
	switch {
	case c.FilterUpdatedAt && c.SortUpdatedAt:
		ch = Choice{Strategy: Keyset, Reason: "filter[updatedAt] and sort=updatedAt work → keyset"}
	default:
		why := "no updatedAt filter/sort"
		if c.UpdatedAtNote != "" {
			why += " (" + c.UpdatedAtNote + ")"
		}
		switch {
		case !c.Audited:
			ch = Choice{Strategy: HashScan, Reason: why + "; not audited by Oro → hash scan"}
		case !c.AuditAccess:
			note := c.AuditNote
			if note == "" {
				note = "no access"
			}
			ch = Choice{Strategy: HashScan, Reason: why + "; audit log: " + note + " → hash scan"}
		default:
			ch = Choice{Strategy: AuditLog, Reason: why + "; audit log readable → audit log"}
		}
	}
	if c.Webhooks {
		ch.Webhooks = true
		ch.Reason += "; webhooks subscribed → webhooks primary, " + string(ch.Strategy) + " as the safety net"
	} else if c.WebhookNote != "" {
		ch.Reason += "; webhooks: " + c.WebhookNote
	}
	return ch
}

// EntityAlias is the entity alias of a JSON:API type, used in webhook topics (contact.updated).
func EntityAlias(typ string) string {
	switch typ {
	case "opportunities":
		return "opportunity"
	case "cases":
		return "case"
	case "contactaddresses":
		return "contactaddress"
	}
	return strings.TrimSuffix(typ, "s")
}
