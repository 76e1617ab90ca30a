package ports

import (
	"encoding/json"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/adapters"
	"github.com/orosync/orosync/services/transformer/app"
)

// oroContact is a contact as Oro 6 sends it: every attribute and relationship of the type (most empty, as in real
// data), two accounts, one address (included).
func oroContact(id string) (resource json.RawMessage, included []json.RawMessage) {
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

// rawContactMessage is one ORO_RAW message as the subscriber hands it to the handler (adapters' unmarshaler): the
// CloudEvents headers, subject and stream sequence as metadata, the raw record as payload.
func rawContactMessage(tb testing.TB, seq int) *message.Message {
	tb.Helper()
	id := strconv.Itoa(seq)
	res, inc := oroContact(id)
	h, err := events.ResourceHash(res)
	if err != nil {
		tb.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := events.RawRecord{RecordRef: events.RecordRef{Tenant: "acme", Type: "contacts", ID: id}, UpdatedAt: &at,
		PayloadHash: h, ObservedAt: at.Add(time.Second), Via: "poll", Resource: res, Included: inc}
	body, err := json.Marshal(r)
	if err != nil {
		tb.Fatal(err)
	}
	msg := message.NewMessage(r.MsgID(), body)
	events.Envelope{ID: r.MsgID(), Source: events.Source("acme", "poller"), Type: events.TypeRawRecord, Time: at}.Apply(msg.Metadata)
	delete(msg.Metadata, events.HeaderMsgID) // the unmarshaler moves Nats-Msg-Id to the message UUID
	msg.Metadata.Set(adapters.SubjectKey, "oro.raw.acme.contacts."+id)
	msg.Metadata.Set(adapters.SequenceKey, id)
	return msg
}

// BenchmarkTransformerEventsPerSecond is "the transformer alone": a raw contact message as the subscriber delivers it
// (headers + JSON body) → decode → mapping oro-v1 → the encoded change message, headers and subject set, ready to
// publish; on every core (RunParallel). NATS I/O is not included (BenchmarkTransformerThroughJetStream covers it).
// events/s is the figure of issue 5's acceptance.
func BenchmarkTransformerEventsPerSecond(b *testing.B) {
	msgs := make([]*message.Message, 1000)
	for i := range msgs {
		msgs[i] = rawContactMessage(b, i+1)
	}
	handler := HandlerFunc(app.Transform{Now: time.Now})
	b.ReportAllocs()
	b.SetBytes(int64(len(msgs[0].Payload)))
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			out, err := handler(msgs[i%len(msgs)])
			if err != nil || len(out) != 1 || out[0].Metadata.Get(events.HeaderType) != events.TypeChange {
				panic(fmt.Sprintf("%v %v", out, err))
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// CPU time per event is what the other helpers' load on this shared machine distorts least.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/event")
}

// processCPU is the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
