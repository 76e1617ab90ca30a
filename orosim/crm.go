package orosim

// The CRM types besides contacts, from reference §3; per-type filters and
// sorters from §3.13 (indexed columns, associations and api.yml additions).

func str(names ...string) []attrDef {
	out := make([]attrDef, len(names))
	for i, n := range names {
		out[i] = attrDef{Name: n, Kind: kindString}
	}
	return out
}

func at(name string, k attrKind) attrDef { return attrDef{Name: name, Kind: k} }

func timestamps() []attrDef {
	return []attrDef{
		{Name: "createdAt", Kind: kindDateTime, ServerSet: true},
		{Name: "updatedAt", Kind: kindDateTime, ServerSet: true},
	}
}

// contactCounters are ActivityContactBundle's read-only counters.
func contactCounters() []attrDef {
	return []attrDef{
		at("lastContactedDate", kindDateTime), at("lastContactedDateIn", kindDateTime), at("lastContactedDateOut", kindDateTime),
		at("timesContacted", kindInt), at("timesContactedIn", kindInt), at("timesContactedOut", kindInt),
	}
}

func one(name, target string) relDef  { return relDef{Name: name, Target: target} }
func many(name, target string) relDef { return relDef{Name: name, Target: target, ToMany: true} }

// activityRels are the inverse activity associations every target has.
func activityRels() []relDef {
	return []relDef{
		many("activityTasks", "tasks"), many("activityCalls", "calls"),
		many("activityNotes", "notes"), many("activityEmails", "emails"),
	}
}

// activityTypes are the activity entities and their inverse relationship.
var activityTypes = map[string]string{
	"tasks": "activityTasks", "calls": "activityCalls", "notes": "activityNotes", "emails": "activityEmails",
}

func cat[T any](parts ...[]T) []T {
	var out []T
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func arrayFilter(f *filterDef) *filterDef {
	f.AllowArray = true
	return f
}

func accountsType() *typeDef {
	attrs := cat(str("name"), timestamps(), str("externalId", "extend_description"))
	rels := cat([]relDef{one("owner", "users"), many("contacts", "contacts"), one("defaultContact", "contacts"),
		one("organization", "organizations"), one("referredBy", "accounts")}, activityRels())
	// No updatedAt/createdAt filter or sorter: the columns have no index.
	return newTypeDef("accounts", attrs, rels,
		[]*filterDef{stringFilter("name"), arrayFilter(stringFilter("externalId"))}, []string{"name"})
}

func b2bcustomersType() *typeDef {
	attrs := cat([]attrDef{at("name", kindString), at("lifetime", kindMoney), at("primaryPhone", kindString), at("primaryEmail", kindString),
		{Name: "phones", Kind: kindObjects, ObjectKey: "phone"}, {Name: "emails", Kind: kindObjects, ObjectKey: "email"}}, timestamps())
	rels := cat([]relDef{one("shippingAddress", "addresses"), one("billingAddress", "addresses"), one("account", "accounts"),
		one("contact", "contacts"), one("owner", "users"), one("organization", "organizations"), one("dataChannel", "channels")}, activityRels())
	return newTypeDef("b2bcustomers", attrs, rels, []*filterDef{stringFilter("name")}, []string{"name"})
}

func opportunitiesType() *typeDef {
	attrs := cat(contactCounters(), []attrDef{at("name", kindString), at("closeDate", kindDate), at("probability", kindFloat),
		at("budgetAmountCurrency", kindString), at("budgetAmountValue", kindMoney),
		at("closeRevenueCurrency", kindString), at("closeRevenueValue", kindMoney),
		at("customerNeed", kindString), at("proposedSolution", kindString)}, timestamps(), str("notes", "externalId"))
	rels := cat([]relDef{one("closeReason", "opportunityclosereasons"), one("contact", "contacts"), one("lead", "leads"),
		one("owner", "users"), one("organization", "organizations"), one("status", "opportunitystatuses"),
		one("account", "accounts"), one("customer", "b2bcustomers")}, activityRels())
	// Only createdAt is indexed (created_at,id): no updatedAt filter or sorter.
	d := newTypeDef("opportunities", attrs, rels,
		[]*filterDef{dateTimeFilter("createdAt"), arrayFilter(stringFilter("externalId"))}, []string{"createdAt"})
	d.validate = validateOpportunity
	return d
}

func leadsType() *typeDef {
	attrs := cat(contactCounters(), str("name", "namePrefix", "firstName", "middleName", "lastName", "nameSuffix", "jobTitle",
		"companyName", "website"), []attrDef{at("numberOfEmployees", kindInt), at("industry", kindString)}, timestamps(),
		str("notes", "twitter", "linkedIn", "primaryEmail", "primaryPhone"),
		[]attrDef{{Name: "emails", Kind: kindObjects, ObjectKey: "email"}, {Name: "phones", Kind: kindObjects, ObjectKey: "phone"}},
		str("externalId"))
	rels := cat([]relDef{one("contact", "contacts"), many("addresses", "leadaddresses"), one("owner", "users"),
		many("opportunities", "opportunities"), one("organization", "organizations"), one("source", "leadsources"),
		one("status", "leadstatuses"), one("account", "accounts"), one("customer", "b2bcustomers")}, activityRels())
	d := newTypeDef("leads", attrs, rels, []*filterDef{
		dateTimeFilter("createdAt"), dateTimeFilter("updatedAt"), objectsFilter("emails"), objectsFilter("phones"),
		primaryFilter("primaryEmail"), primaryFilter("primaryPhone"), arrayFilter(stringFilter("externalId")),
	}, []string{"createdAt", "updatedAt", "emails", "phones"})
	d.validate = validateLead
	return d
}

func tasksType() *typeDef {
	attrs := cat(str("subject", "description"), []attrDef{at("dueDate", kindDateTime)}, timestamps())
	rels := []relDef{one("taskPriority", "taskpriorities"), one("status", "taskstatuses"), one("owner", "users"),
		one("createdBy", "users"), one("organization", "organizations"), many("activityTargets", "")}
	owner := &filterDef{Name: "ownerUsername", DataType: "string", Ops: stringOps(), strs: func(r *record) []string {
		if o := r.Rels["owner"]; len(o) > 0 {
			return []string{username(o[0].ID)}
		}
		return nil
	}}
	return newTypeDef("tasks", attrs, rels, []*filterDef{dateTimeFilter("dueDate"), dateTimeFilter("updatedAt"), owner},
		[]string{"dueDate", "updatedAt"})
}

// username is the seeded username of a user id.
func username(id string) string {
	if id == "1" {
		return "admin"
	}
	return "user" + id
}

func callsType() *typeDef {
	attrs := cat(str("subject", "phoneNumber", "notes"), []attrDef{at("callDateTime", kindDateTime), at("duration", kindInt)},
		str("externalId"), timestamps())
	rels := []relDef{one("owner", "users"), one("callStatus", "callstatuses"), one("direction", "calldirections"),
		one("organization", "organizations"), many("activityTargets", ""), many("comments", "comments")}
	// api.yml enables updatedAt manually ("this field is not indexed").
	return newTypeDef("calls", attrs, rels, []*filterDef{dateTimeFilter("callDateTime"), dateTimeFilter("updatedAt"),
		arrayFilter(stringFilter("externalId"))}, []string{"callDateTime", "updatedAt"})
}

func notesType() *typeDef {
	attrs := cat(str("message"), timestamps())
	rels := []relDef{one("owner", "users"), one("organization", "organizations"), one("updatedBy", "users"),
		one("attachment", "attachments"), many("activityTargets", ""), many("comments", "comments")}
	d := newTypeDef("notes", attrs, rels, nil, nil)
	d.noTitle = true // disable_meta_properties: [title]
	return d
}

func emailsType() *typeDef {
	attrs := []attrDef{{Name: "createdAt", Kind: kindDateTime, ServerSet: true}, at("subject", kindString), at("sentAt", kindDateTime),
		at("importance", kindString), at("internalDate", kindDateTime), at("head", kindBool), at("messageId", kindString),
		at("messageIds", kindJSON), at("xMessageId", kindString), at("xThreadId", kindString), at("references", kindJSON),
		at("acceptLanguage", kindString), at("bodySynced", kindBool), at("from", kindJSON), at("toRecipients", kindJSON),
		at("ccRecipients", kindJSON), at("bccRecipients", kindJSON), at("shortTextBody", kindString),
		at("hasEmailAttachments", kindBool), at("body", kindJSON)}
	rels := []relDef{many("emailUsers", "emailusers"), many("activityTargets", ""), many("emailAttachments", "emailattachments")}
	return newTypeDef("emails", attrs, rels, []*filterDef{dateTimeFilter("sentAt")}, []string{"sentAt"})
}

func casesType() *typeDef {
	attrs := cat(str("subject", "description", "resolution"), timestamps(),
		[]attrDef{at("reportedAt", kindDateTime), at("closedAt", kindDateTime)}, str("externalId"))
	rels := cat([]relDef{one("source", "casesources"), one("status", "casestatuses"), one("priority", "casepriorities"),
		one("relatedContact", "contacts"), one("relatedAccount", "accounts"), one("assignedTo", "users"), one("owner", "users"),
		many("comments", "casecomments"), one("organization", "organizations")}, activityRels())
	return newTypeDef("cases", attrs, rels, []*filterDef{dateTimeFilter("reportedAt"), arrayFilter(stringFilter("externalId"))},
		[]string{"reportedAt"})
}

// addressAttrs are AbstractAddress's fields as the API exposes them (get_contact_address.yml; createdAt and
// updatedAt are its created/updated columns, customRegion its regionText).
func addressAttrs() []attrDef {
	return cat(str("label", "street", "street2", "city", "postalCode", "organization", "namePrefix", "firstName", "middleName",
		"lastName", "nameSuffix"), timestamps(), str("customRegion"))
}

// contactaddressesType is ContactAddress (a typed address: billing, shipping) owned by a contact.
func contactaddressesType() *typeDef {
	attrs := cat([]attrDef{at("primary", kindBool)}, addressAttrs())
	rels := []relDef{one("owner", "contacts"), many("types", "addresstypes"), one("country", "countries"), one("region", "regions")}
	d := newTypeDef("contactaddresses", attrs, rels, []*filterDef{stringFilter("customRegion")}, nil)
	d.validate = validateAddress
	return d
}

// leadaddressesType is LeadAddress: like a contact's, without address types (AbstractAddress plus primary).
func leadaddressesType() *typeDef {
	attrs := cat([]attrDef{at("primary", kindBool)}, addressAttrs())
	rels := []relDef{one("owner", "leads"), one("country", "countries"), one("region", "regions")}
	d := newTypeDef("leadaddresses", attrs, rels, []*filterDef{stringFilter("customRegion")}, nil)
	d.validate = validateAddress
	return d
}

// addressesType is AddressBundle's plain Address, which b2b customers point to as billingAddress and
// shippingAddress: no owner, no primary flag, no types.
func addressesType() *typeDef {
	rels := []relDef{one("country", "countries"), one("region", "regions")}
	return newTypeDef("addresses", addressAttrs(), rels, nil, nil)
}

// owned are the address types owned by a record through its "addresses" relationship: Oro keeps that side
// (Contact.addresses, Lead.addresses, ordered primary first) and never touches the owner's updatedAt when one of
// its addresses is written.
var owned = map[string]string{"contactaddresses": "contacts", "leadaddresses": "leads"}

// validateAddress is what contact_address.md and lead_address.md require: an owner and a country.
func validateAddress(r *record) []apiError {
	var errs []apiError
	if len(r.Rels["owner"]) == 0 {
		errs = append(errs, pointerError("not blank constraint", "This value should not be blank.", "/data/relationships/owner/data"))
	}
	if len(r.Rels["country"]) == 0 {
		errs = append(errs, pointerError("not blank constraint", "This value should not be blank.", "/data/relationships/country/data"))
	}
	return errs
}

func usersType() *typeDef {
	attrs := cat(str("phone", "title", "googleId", "username", "email", "namePrefix", "firstName", "middleName", "lastName", "nameSuffix"),
		[]attrDef{at("birthday", kindDate), at("enabled", kindBool), at("lastLogin", kindDateTime)}, timestamps(),
		[]attrDef{at("loginCount", kindInt), at("passwordRequestedAt", kindDateTime), at("passwordChangedAt", kindDateTime),
			{Name: "emails", Kind: kindObjects, ObjectKey: "email"}}, str("externalId"))
	rels := cat([]relDef{many("groups", "groups"), one("owner", "businessunits"), many("businessUnits", "businessunits"),
		many("organizations", "organizations"), many("userRoles", "userroles"), one("organization", "organizations"),
		one("avatar", "files"), one("auth_status", "userauthstatuses")}, activityRels())
	return newTypeDef("users", attrs, rels, []*filterDef{stringFilter("firstName"), stringFilter("username"),
		stringFilter("email"), arrayFilter(stringFilter("externalId"))}, []string{"firstName", "username", "email"})
}

func businessunitsType() *typeDef {
	attrs := cat(str("extend_description", "name", "phone", "website", "email", "fax"), timestamps())
	rels := []relDef{one("organization", "organizations"), many("users", "users"), one("owner", "businessunits")}
	return newTypeDef("businessunits", attrs, rels, nil, nil)
}

func organizationsType() *typeDef {
	attrs := cat(str("name", "description"), []attrDef{at("enabled", kindBool)}, timestamps())
	rels := []relDef{many("users", "users"), many("businessUnits", "businessunits")}
	return newTypeDef("organizations", attrs, rels, nil, nil)
}

// validateOpportunity is Oro's create/update validation: name and status
// are required, and either an account or a customer.
func validateOpportunity(r *record) []apiError {
	var errs []apiError
	if v, _ := r.str("name"); v == "" {
		errs = append(errs, pointerError("not blank constraint", "This value should not be blank.", "/data/attributes/name"))
	}
	if len(r.Rels["status"]) == 0 {
		errs = append(errs, pointerError("not blank constraint", "This value should not be blank.", "/data/relationships/status/data"))
	}
	if len(r.Rels["account"]) == 0 && len(r.Rels["customer"]) == 0 {
		errs = append(errs, apiError{Status: "400", Title: "form constraint", Detail: "Either an account or a customer should be set."})
	}
	if p, ok := r.Attrs["probability"].(float64); ok && (p < 0 || p > 1) {
		errs = append(errs, pointerError("range constraint", "This value should be between 0% and 100%.", "/data/attributes/probability"))
	}
	return errs
}

// validateLead requires a name and a status (which defaults to "new" on
// create).
func validateLead(r *record) []apiError {
	var errs []apiError
	if v, _ := r.str("name"); v == "" {
		errs = append(errs, pointerError("not blank constraint", "This value should not be blank.", "/data/attributes/name"))
	}
	if len(r.Rels["status"]) == 0 {
		errs = append(errs, pointerError("not blank constraint", "This value should not be blank.", "/data/relationships/status/data"))
	}
	return errs
}

func pointerError(title, detail, pointer string) apiError {
	return apiError{Status: "400", Title: title, Detail: detail, Source: &errorSource{Pointer: pointer}}
}

// enumItem is one option of an enum or dictionary type; ids are strings.
type enumItem struct{ id, name string }

// enums are the read-only enum and dictionary types the CRM types point to.
func enums() map[string][]enumItem {
	e := func(pairs ...string) []enumItem {
		out := make([]enumItem, 0, len(pairs)/2)
		for i := 0; i+1 < len(pairs); i += 2 {
			out = append(out, enumItem{pairs[i], pairs[i+1]})
		}
		return out
	}
	return map[string][]enumItem{
		"opportunitystatuses": e("in_progress", "Open", "identification_alignment", "Identification & Alignment",
			"needs_analysis", "Needs Analysis", "solution_development", "Solution Development", "negotiation", "Negotiation",
			"won", "Closed Won", "lost", "Closed Lost"),
		"opportunityclosereasons": e("cancelled", "Cancelled", "outsold", "Outsold", "won", "Won"),
		"leadstatuses":            e("new", "New", "qualified", "Qualified", "canceled", "Disqualified"),
		"leadsources":             e("website", "Website", "direct_mail", "Direct Mail", "email_marketing", "Email Marketing", "partner", "Partner", "other", "Other"),
		"taskpriorities":          e("low", "Low", "normal", "Normal", "high", "High"),
		"taskstatuses":            e("open", "Open", "in_progress", "In Progress", "closed", "Closed"),
		"callstatuses":            e("in_progress", "In progress", "completed", "Completed"),
		"calldirections":          e("incoming", "Incoming", "outgoing", "Outgoing"),
		"contactsources":          e("call", "Call", "email", "Email", "tv", "TV", "website", "Website", "other", "Other"),
		"contactmethods":          e("phone", "Phone", "email", "Email", "fax", "Fax", "mail", "Mail"),
		"contactgroups":           e("1", "Sales Group", "2", "Marketing Group", "3", "Support Group"),
		"casestatuses":            e("open", "Open", "in_progress", "In Progress", "resolved", "Resolved", "closed", "Closed"),
		"casepriorities":          e("low", "Low", "normal", "Normal", "high", "High"),
		"casesources":             e("email", "Email", "phone", "Phone", "web", "Web", "other", "Other"),
		"countries":               e("US", "United States", "DE", "Germany", "PL", "Poland", "JP", "Japan", "GB", "United Kingdom", "FR", "France"),
		"regions":                 e("US-CA", "California", "US-NY", "New York", "DE-BE", "Berlin", "PL-MZ", "Masovia", "JP-13", "Tokyo"),
		"addresstypes":            e("billing", "Billing", "shipping", "Shipping"),
		"userroles":               e("1", "Administrator", "2", "Sales Rep"),
		"userauthstatuses":        e("active", "Active", "expired", "Password reset"),
	}
}

// enumResource renders an enum option as Oro does: name, priority, default.
func enumResource(typ string, i int, it enumItem) object {
	return object{{"type", typ}, {"id", it.id}, {"attributes", object{
		{"name", it.name}, {"priority", int64(i + 1)}, {"default", i == 0},
	}}}
}
