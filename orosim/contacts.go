package orosim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// contactsType is the `contacts` resource (crm ContactBundle api.yml and
// get_contact.yml): attributes and relationships in Oro's order, plus
// externalId which api.yml exposes but the fixture does not show.
func contactsType() *typeDef {
	attrs := []attrDef{
		{Name: "lastContactedDate", Kind: kindDateTime},
		{Name: "lastContactedDateIn", Kind: kindDateTime},
		{Name: "lastContactedDateOut", Kind: kindDateTime},
		{Name: "timesContacted", Kind: kindInt},
		{Name: "timesContactedIn", Kind: kindInt},
		{Name: "timesContactedOut", Kind: kindInt},
		{Name: "namePrefix", Kind: kindString},
		{Name: "firstName", Kind: kindString},
		{Name: "middleName", Kind: kindString},
		{Name: "lastName", Kind: kindString},
		{Name: "nameSuffix", Kind: kindString},
		{Name: "gender", Kind: kindString},
		{Name: "birthday", Kind: kindDate},
		{Name: "description", Kind: kindString},
		{Name: "jobTitle", Kind: kindString},
		{Name: "fax", Kind: kindString},
		{Name: "skype", Kind: kindString},
		{Name: "twitter", Kind: kindString},
		{Name: "facebook", Kind: kindString},
		{Name: "googlePlus", Kind: kindString},
		{Name: "linkedIn", Kind: kindString},
		{Name: "createdAt", Kind: kindDateTime, ServerSet: true},
		{Name: "updatedAt", Kind: kindDateTime, ServerSet: true},
		{Name: "primaryEmail", Kind: kindString},
		{Name: "primaryPhone", Kind: kindString},
		{Name: "emails", Kind: kindObjects, ObjectKey: "email"},
		{Name: "phones", Kind: kindObjects, ObjectKey: "phone"},
		{Name: "externalId", Kind: kindString},
	}
	rels := []relDef{
		{Name: "source", Target: "contactsources"},
		{Name: "method", Target: "contactmethods"},
		{Name: "owner", Target: "users"},
		{Name: "assignedTo", Target: "users"},
		{Name: "reportsTo", Target: "contacts"},
		{Name: "addresses", Target: "contactaddresses", ToMany: true},
		{Name: "groups", Target: "contactgroups", ToMany: true},
		{Name: "accounts", Target: "accounts", ToMany: true},
		{Name: "createdBy", Target: "users"},
		{Name: "updatedBy", Target: "users"},
		{Name: "organization", Target: "organizations"},
		{Name: "defaultInAccounts", Target: "accounts", ToMany: true},
		{Name: "picture", Target: "files"},
		// Activity associations exist on every activity target (reference §2).
		{Name: "activityTasks", Target: "tasks", ToMany: true},
		{Name: "activityCalls", Target: "calls", ToMany: true},
		{Name: "activityNotes", Target: "notes", ToMany: true},
		{Name: "activityEmails", Target: "emails", ToMany: true},
	}
	// Filters: the indexed columns (first_name, last_name, updated_at) and the
	// api.yml ones. createdAt is sortable but, as in Oro, not filterable.
	externalID := stringFilter("externalId")
	externalID.AllowArray = true
	filters := []*filterDef{
		dateTimeFilter("updatedAt"),
		stringFilter("firstName"),
		stringFilter("lastName"),
		objectsFilter("emails"),
		objectsFilter("phones"),
		primaryFilter("primaryEmail"),
		primaryFilter("primaryPhone"),
		externalID,
	}
	sorters := []string{"updatedAt", "createdAt", "firstName", "lastName", "emails", "phones"}
	d := newTypeDef("contacts", attrs, rels, filters, sorters)
	d.normalize = normalizeContact
	return d
}

// normalizeContact keeps primaryEmail/primaryPhone consistent with the
// collections and enforces Oro's rule that a contact keeps at least one of
// firstName, lastName, emails or phones.
func normalizeContact(r *record, changed map[string]bool) error {
	for _, p := range [][2]string{{"primaryEmail", "emails"}, {"primaryPhone", "phones"}} {
		primary, list := p[0], p[1]
		v, hasPrimary := r.str(primary)
		values := r.list(list)
		switch {
		case changed[primary] && hasPrimary && !slices.Contains(values, v):
			// Setting a primary value adds it to the collection.
			r.Attrs[list] = append(slices.Clone(values), v)
		case changed[list] && hasPrimary && !slices.Contains(values, v):
			delete(r.Attrs, primary)
		}
	}
	_, first := r.str("firstName")
	_, last := r.str("lastName")
	if !first && !last && len(r.list("emails")) == 0 && len(r.list("phones")) == 0 {
		return fmt.Errorf("%w: either firstName, lastName, emails or phones must remain defined", ErrInvalid)
	}
	return nil
}

// seedName pairs a display form with an ASCII form used in e-mail addresses.
type seedName struct{ text, ascii string }

func firstNames() []seedName {
	return []seedName{
		{"Zoë", "zoe"}, {"Łukasz", "lukasz"}, {"José", "jose"}, {"芳", "fang"}, {"Søren", "soren"},
		{"Ñuño", "nuno"}, {"Ğül", "gul"}, {"Anna", "anna"}, {"Mark", "mark"}, {"Olivia", "olivia"},
		{"Björn", "bjorn"}, {"Chloé", "chloe"}, {"Jürgen", "jurgen"}, {"Александр", "aleksandr"},
		{"Fatima", "fatima"}, {"Siobhán", "siobhan"}, {"Mateo", "mateo"}, {"Yuki", "yuki"},
		{"François", "francois"}, {"Ingrid", "ingrid"}, {"Đorđe", "djordje"}, {"Renée", "renee"},
		{"Ömer", "omer"}, {"Ana María", "anamaria"}, {"Priya", "priya"}, {"Oluwaseun", "oluwaseun"},
	}
}

func lastNames() []seedName {
	return []seedName{
		{"Müller", "mueller"}, {"Kowalski", "kowalski"}, {"García", "garcia"}, {"王", "wang"},
		{"Jensen", "jensen"}, {"Øvergaard", "overgaard"}, {"Núñez", "nunez"}, {"Yılmaz", "yilmaz"},
		{"Smith", "smith"}, {"O'Brien", "obrien"}, {"Dubois", "dubois"}, {"Nakamura", "nakamura"},
		{"Петров", "petrov"}, {"李", "li"}, {"van der Berg", "vanderberg"}, {"Żółkiewski", "zolkiewski"},
		{"Andersson", "andersson"}, {"Brontë", "bronte"}, {"Nguyễn", "nguyen"}, {"Kahn-Lévy", "kahnlevy"},
	}
}

// seedContacts builds n deterministic contacts with ids 1..n. Timestamps are
// in the past of now; many contacts share the same updatedAt second so that
// keyset paging on (updatedAt, id) has ties to get right. Contacts belong to
// accounts 1..n/5.
func seedContacts(n int, seed int64, now time.Time) []*record {
	return seedContactsIn(n, max(1, n/5), seed, now)
}

// seedContactsIn is seedContacts with contacts belonging to accounts 1..accounts.
func seedContactsIn(n, accounts int, seed int64, now time.Time) []*record {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	fns, lns := firstNames(), lastNames()
	domains := []string{"example.com", "example.org", "example.net", "mail.example"}
	titles := []string{"Sales Manager", "CTO", "Ingénieure commerciale", "Account Executive", "Directora de Ventas", "Head of Procurement", "Einkäufer", "购买经理"}
	prefixes := []string{"Mr.", "Ms.", "Dr.", "Prof."}
	sources := []string{"call", "email", "tv", "website", "other"}
	methods := []string{"phone", "email", "fax", "mail"}
	phoneFormats := []func(*rand.Rand) string{
		func(r *rand.Rand) string { return fmt.Sprintf("+1 202-555-%04d", r.IntN(10000)) },
		func(r *rand.Rand) string { return fmt.Sprintf("555666%04d", r.IntN(10000)) },
		func(r *rand.Rand) string {
			return fmt.Sprintf("+48 22 %03d %02d %02d", r.IntN(1000), r.IntN(100), r.IntN(100))
		},
		func(r *rand.Rand) string { return fmt.Sprintf("(020) 7946 %04d", r.IntN(10000)) },
	}
	// A small pool of distinct seconds makes updatedAt collide often.
	pool := make([]time.Time, max(1, n/4))
	for i := range pool {
		pool[i] = now.Add(-time.Duration(1+rng.Int64N(180*24*3600)) * time.Second)
	}

	out := make([]*record, 0, n)
	for i := 1; i <= n; i++ {
		r := &record{ID: int64(i), Attrs: map[string]any{}, Rels: map[string][]ref{}}
		fn, ln := fns[rng.IntN(len(fns))], lns[rng.IntN(len(lns))]
		switch rng.IntN(10) {
		case 0: // only a last name
			r.Attrs["lastName"] = ln.text
		case 1: // only a first name
			r.Attrs["firstName"] = fn.text
		default:
			r.Attrs["firstName"] = fn.text
			r.Attrs["lastName"] = ln.text
		}
		if rng.IntN(8) == 0 {
			r.Attrs["namePrefix"] = prefixes[rng.IntN(len(prefixes))]
		}
		if rng.IntN(6) == 0 {
			r.Attrs["middleName"] = fns[rng.IntN(len(fns))].text
		}
		if rng.IntN(3) == 0 {
			r.Attrs["gender"] = []string{"male", "female"}[rng.IntN(2)]
		}
		if rng.IntN(2) == 0 {
			r.Attrs["birthday"] = time.Date(1950+rng.IntN(55), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		}
		if rng.IntN(3) == 0 {
			r.Attrs["jobTitle"] = titles[rng.IntN(len(titles))]
		}
		if rng.IntN(10) == 0 {
			r.Attrs["description"] = "Met at the trade fair; prefers e-mail. Größe: L — “VIP”"
		}
		if rng.IntN(7) == 0 {
			r.Attrs["skype"] = fn.ascii + ".skype" + strconv.Itoa(i)
		}
		if rng.IntN(9) == 0 {
			r.Attrs["twitter"] = "@" + fn.ascii + strconv.Itoa(i)
		}
		if rng.IntN(12) == 0 {
			r.Attrs["fax"] = phoneFormats[rng.IntN(len(phoneFormats))](rng)
		}
		if rng.IntN(5) == 0 {
			r.Attrs["externalId"] = fmt.Sprintf("EXT-%06d", i)
		}
		if rng.IntN(4) == 0 {
			r.Attrs["timesContacted"] = int64(rng.IntN(40))
		}

		var emails []string
		for k := range rng.IntN(4) {
			local := fn.ascii + "." + ln.ascii
			switch k {
			case 1:
				local = fn.ascii + "+crm"
			case 2:
				local = ln.ascii + strconv.Itoa(i)
			}
			e := fmt.Sprintf("%s%d@%s", local, i, domains[rng.IntN(len(domains))])
			if rng.IntN(10) == 0 {
				e = upperFirst(e) // mixed case happens in real CRMs
			}
			emails = append(emails, e)
		}
		var phones []string
		for range rng.IntN(4) {
			phones = append(phones, phoneFormats[rng.IntN(len(phoneFormats))](rng))
		}
		if _, ok := r.Attrs["firstName"]; !ok && len(emails) == 0 && len(phones) == 0 {
			if _, ok := r.Attrs["lastName"]; !ok {
				r.Attrs["lastName"] = ln.text
			}
		}
		r.Attrs["emails"] = emails
		r.Attrs["phones"] = phones
		if len(emails) > 0 && rng.IntN(8) != 0 {
			r.Attrs["primaryEmail"] = emails[rng.IntN(len(emails))]
		}
		if len(phones) > 0 && rng.IntN(8) != 0 {
			r.Attrs["primaryPhone"] = phones[rng.IntN(len(phones))]
		}

		updated := pool[rng.IntN(len(pool))]
		created := updated.Add(-time.Duration(rng.Int64N(2*365*24*3600)) * time.Second)
		if rng.IntN(5) == 0 {
			created = updated // never edited since creation
		}
		r.Attrs["createdAt"] = created
		r.Attrs["updatedAt"] = updated
		if rng.IntN(6) == 0 {
			last := updated.Add(-time.Duration(rng.Int64N(30*24*3600)) * time.Second)
			r.Attrs["lastContactedDate"] = last
			r.Attrs["lastContactedDateOut"] = last
		}

		user := func() []ref { return []ref{{Type: "users", ID: strconv.Itoa(1 + rng.IntN(5))}} }
		r.Rels["owner"] = user()
		r.Rels["createdBy"] = user()
		r.Rels["organization"] = []ref{{Type: "organizations", ID: "1"}}
		if rng.IntN(3) == 0 {
			r.Rels["updatedBy"] = user()
		}
		if rng.IntN(5) == 0 {
			r.Rels["assignedTo"] = user()
		}
		if i > 1 && rng.IntN(8) == 0 {
			r.Rels["reportsTo"] = []ref{{Type: "contacts", ID: strconv.Itoa(1 + rng.IntN(i-1))}}
		}
		if rng.IntN(3) == 0 {
			r.Rels["source"] = []ref{{Type: "contactsources", ID: sources[rng.IntN(len(sources))]}}
		}
		if rng.IntN(4) == 0 {
			r.Rels["method"] = []ref{{Type: "contactmethods", ID: methods[rng.IntN(len(methods))]}}
		}
		if rng.IntN(2) == 0 {
			seen := map[int]bool{}
			for range 1 + rng.IntN(2) {
				a := 1 + rng.IntN(accounts)
				if !seen[a] {
					seen[a] = true
					r.Rels["accounts"] = append(r.Rels["accounts"], ref{Type: "accounts", ID: strconv.Itoa(a)})
				}
			}
			if rng.IntN(2) == 0 {
				r.Rels["defaultInAccounts"] = r.Rels["accounts"][:1]
			}
		}
		if rng.IntN(4) == 0 {
			r.Rels["groups"] = []ref{{Type: "contactgroups", ID: strconv.Itoa(1 + rng.IntN(3))}}
		}
		if rng.IntN(3) == 0 {
			r.Rels["addresses"] = []ref{{Type: "contactaddresses", ID: strconv.Itoa(i)}}
		}
		out = append(out, r)
	}
	shareEmailsAndAccounts(out, seed, accounts)
	return out
}

// shareEmailsAndAccounts gives some contacts an address another contact
// has too (a shared inbox) and some a third account. It draws from its own
// random source so that the values above stay what they were.
func shareEmailsAndAccounts(recs []*record, seed int64, accounts int) {
	rng := rand.New(rand.NewPCG(uint64(seed)^0x5ba7ed, uint64(seed)+0x3acc))
	shared := []string{"info@example.com", "sales@example.org", "kontakt@example.net"}
	for _, r := range recs {
		if emails := r.list("emails"); len(emails) > 0 && len(emails) < 3 && rng.IntN(20) == 0 {
			e := shared[rng.IntN(len(shared))]
			if !slices.Contains(emails, e) {
				r.Attrs["emails"] = append(slices.Clone(emails), e)
			}
		}
		if accs := r.Rels["accounts"]; len(accs) == 2 && rng.IntN(3) == 0 {
			a := ref{Type: "accounts", ID: strconv.Itoa(1 + rng.IntN(accounts))}
			if !slices.Contains(accs, a) {
				r.Rels["accounts"] = append(slices.Clone(accs), a)
			}
		}
	}
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
