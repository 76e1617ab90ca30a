package domain

import (
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/orosync/orosync/events"
)

func isRecordAggregate(a string) bool {
	return a == events.AggregateDeal || a == events.AggregateInteraction || a == events.AggregateComment || a == events.AggregateUser
}

// ValidateChange checks a change the writer reads: an aggregate it writes, an op, a source, the values a person's
// or company's upsert needs, and what Mercato's columns would refuse, so a bad change is dead-lettered naming its
// record and field instead of failing the batch it arrives in.
func ValidateChange(ch events.Change) error {
	switch {
	case ch.Aggregate != events.AggregatePerson && ch.Aggregate != events.AggregateCompany && !isRecordAggregate(ch.Aggregate):
		return fmt.Errorf("%s: aggregate %q is not supported by this writer", ch.Source, ch.Aggregate)
	case ch.Aggregate == events.AggregatePerson && ch.Op == events.OpUpsert && (ch.Person == nil || ch.Person.DisplayName == ""):
		return fmt.Errorf("%s: upsert without person.displayName", ch.Source)
	case ch.Aggregate == events.AggregateCompany && ch.Op == events.OpUpsert && (ch.Company == nil || ch.Company.DisplayName == ""):
		return fmt.Errorf("%s: upsert without company.displayName", ch.Source)
	case ch.Op != events.OpUpsert && ch.Op != events.OpDelete:
		return fmt.Errorf("%s: op %q is neither upsert nor delete", ch.Source, ch.Op)
	case ch.Source.ID == "" || ch.Source.Type == "":
		return fmt.Errorf("change without source type and id")
	}
	return validateRecord(ch)
}

// validateRecord checks the values of an upsert Mercato's columns would refuse.
func validateRecord(ch events.Change) error {
	if ch.Op != events.OpUpsert {
		return nil
	}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %s", ch.Source, field, fmt.Sprintf(format, args...))
	}
	if key, err := CheckCustomFields(customFields(ch)); err != nil {
		return bad("customFields."+key, "%v", err)
	}
	switch ch.Aggregate {
	case events.AggregatePerson:
		for _, f := range []struct {
			name string
			v    *string
		}{{"person.linkedInUrl", ch.Person.LinkedInURL}, {"person.twitterUrl", ch.Person.TwitterURL}} {
			if v := optional(f.v); v != nil && !webURL(*v) {
				return bad(f.name, "%q is not an http(s) URL of at most 300 characters, which Mercato's validator wants", *v)
			}
		}
	case events.AggregateCompany:
		if m := ch.Company.MergeInto; m != nil && (m.Type == "" || m.ID == "") {
			return bad("company.mergeInto", "needs a type and an id")
		}
	case events.AggregateDeal:
		d := ch.Deal
		switch {
		case d == nil || strings.TrimSpace(d.Title) == "":
			return bad("deal.title", "required (customer_deals.title is NOT NULL)")
		case d.Probability != nil && (*d.Probability < 0 || *d.Probability > 100):
			return bad("deal.probability", "%d is not a percentage 0-100", *d.Probability)
		case d.ExpectedCloseAt != nil && !validDate(*d.ExpectedCloseAt):
			return bad("deal.expectedCloseAt", "%q is not a date (YYYY-MM-DD)", *d.ExpectedCloseAt)
		case d.ValueAmount != nil && !validAmount(*d.ValueAmount):
			return bad("deal.valueAmount", "%q is not a decimal that fits numeric(14,2)", *d.ValueAmount)
		}
	case events.AggregateInteraction:
		in := ch.Interaction
		switch {
		case in == nil || strings.TrimSpace(in.InteractionType) == "":
			return bad("interaction.interactionType", "required (customer_interactions.interaction_type is NOT NULL)")
		case in.Entity == nil && len(in.Participants) == 0 && len(in.LinkedEntities) == 0:
			return bad("interaction.entity", "no target: Mercato needs an entity for every interaction")
		case in.ScheduledAt != nil && !validTime(*in.ScheduledAt):
			return bad("interaction.scheduledAt", "%q is not an RFC 3339 time", *in.ScheduledAt)
		case in.OccurredAt != nil && !validTime(*in.OccurredAt):
			return bad("interaction.occurredAt", "%q is not an RFC 3339 time", *in.OccurredAt)
		}
	case events.AggregateUser:
		if ch.User == nil || strings.TrimSpace(ch.User.DisplayName) == "" {
			return bad("user.displayName", "required (the name a directory entry is shown by)")
		}
	case events.AggregateComment:
		cm := ch.Comment
		switch {
		case cm == nil || cm.Body == "":
			return bad("comment.body", "required (customer_comments.body is NOT NULL)")
		case len(cm.Targets) == 0:
			return bad("comment.targets", "no target: Mercato needs an entity for every comment")
		}
	}
	return nil
}

// webURL is what Mercato's clearableUrlSchema takes (customers/data/validators.ts: z.string().url().max(300)), of
// the http(s) kind a profile link is.
func webURL(s string) bool {
	if utf8.RuneCountInString(s) > 300 || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != ""
}

func validDate(s string) bool {
	_, err := time.Parse("2006-01-02", s)
	return err == nil || validTime(s)
}

func validTime(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// validAmount: a plain decimal that numeric(14,2) holds once rounded to cents (at most 999999999999.99).
func validAmount(s string) bool {
	r, ok := new(big.Rat).SetString(s)
	if !ok || strings.ContainsAny(s, "/eE") {
		return false
	}
	limit := big.NewRat(99_999_999_999_999*10+4, 1000) // below …999.995, which would round up to 10^12
	return new(big.Rat).Abs(r).Cmp(limit) <= 0
}

// customFields are the custom fields a change carries (nil: none).
func customFields(ch events.Change) map[string]any {
	switch {
	case ch.Person != nil:
		return ch.Person.CustomFields
	case ch.Company != nil:
		return ch.Company.CustomFields
	case ch.Deal != nil:
		return ch.Deal.CustomFields
	case ch.Interaction != nil:
		return ch.Interaction.CustomFields
	case ch.Comment != nil:
		return ch.Comment.CustomFields
	case ch.User != nil:
		return ch.User.CustomFields
	}
	return nil
}
