// Package oroload makes realistic raw Oro records for the transformer's benchmarks.
package oroload

import (
	"encoding/json"
	"time"

	"github.com/orosync/orosync/events"
)

// Contact is one observed version of a contact as the poller publishes it to ORO_RAW.
func Contact(tenant, id string) (events.RawRecord, error) {
	res, inc := contact(id)
	h, err := events.ResourceHash(res)
	if err != nil {
		return events.RawRecord{}, err
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return events.RawRecord{RecordRef: events.RecordRef{Tenant: tenant, Type: "contacts", ID: id}, UpdatedAt: &at,
		PayloadHash: h, ObservedAt: at.Add(time.Second), Via: "poll", Resource: res, Included: inc}, nil
}

// contact is a contact as Oro 6 sends it: every attribute and relationship of the type (most empty, as in real
// data), two accounts, one address (included).
func contact(id string) (resource json.RawMessage, included []json.RawMessage) {
	resource = json.RawMessage(`{"type":"contacts","id":"` + id + `","attributes":{"lastContactedDate":null,` +
		`"lastContactedDateIn":null,"lastContactedDateOut":null,"timesContacted":0,"timesContactedIn":0,"timesContactedOut":0,` +
		`"namePrefix":null,"firstName":"Zoë","middleName":null,"lastName":"Łukasiewicz ` + id + `","nameSuffix":null,` +
		`"gender":"female","birthday":"1980-01-02","description":"Met at the Poznań fair.","jobTitle":"CTO","fax":null,` +
		`"skype":null,"twitter":null,"facebook":null,"googlePlus":null,"linkedIn":null,"createdAt":"2026-01-01T12:00:00Z",` +
		`"updatedAt":"2026-03-01T12:00:00Z","primaryEmail":"zoe` + id + `@example.com","primaryPhone":"+48 600 100 200",` +
		`"emails":[{"email":"zoe` + id + `@example.com"},{"email":"z` + id + `@example.org"}],"phones":[{"phone":"+48 600 100 200"}],` +
		`"externalId":null},"relationships":{"source":{"data":{"type":"contactsources","id":"tv"}},"method":{"data":null},` +
		`"owner":{"data":{"type":"users","id":"1"}},"assignedTo":{"data":{"type":"users","id":"2"}},"reportsTo":{"data":null},` +
		`"addresses":{"data":[{"type":"contactaddresses","id":"a` + id + `"}]},"groups":{"data":[]},` +
		`"accounts":{"data":[{"type":"accounts","id":"7"},{"type":"accounts","id":"8"}]},` +
		`"createdBy":{"data":{"type":"users","id":"1"}},"updatedBy":{"data":{"type":"users","id":"1"}},` +
		`"organization":{"data":{"type":"organizations","id":"1"}},"defaultInAccounts":{"data":[{"type":"accounts","id":"7"}]},` +
		`"picture":{"data":null},"activityTasks":{"data":[]},"activityCalls":{"data":[]},"activityNotes":{"data":[]},` +
		`"activityEmails":{"data":[]}}}`)
	included = []json.RawMessage{json.RawMessage(`{"type":"contactaddresses","id":"a` + id + `","attributes":{"primary":true,` +
		`"label":"Office","street":"ul. Święty Marcin 29","street2":null,"city":"Poznań","postalCode":"61-806",` +
		`"organization":"Acme","namePrefix":null,"firstName":"Zoë","middleName":null,"lastName":"Łukasiewicz","nameSuffix":null,` +
		`"createdAt":"2026-01-01T12:00:00Z","updatedAt":"2026-03-01T12:00:00Z","customRegion":null},"relationships":{` +
		`"owner":{"data":{"type":"contacts","id":"` + id + `"}},"types":{"data":[{"type":"addresstypes","id":"billing"}]},` +
		`"country":{"data":{"type":"countries","id":"PL"}},"region":{"data":{"type":"regions","id":"PL-30"}}}}`)}
	return resource, included
}
