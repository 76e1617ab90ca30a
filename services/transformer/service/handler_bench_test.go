package service_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/adapters"
	"github.com/orosync/orosync/services/transformer/app"
	"github.com/orosync/orosync/services/transformer/internal/oroload"
	"github.com/orosync/orosync/services/transformer/ports"
	"github.com/orosync/orosync/services/transformer/service"
)

// rawContactMessage is one ORO_RAW message as the subscriber hands it to the handler (adapters' unmarshaler): the
// CloudEvents headers, subject and stream sequence as metadata, the raw record as payload.
func rawContactMessage(tb testing.TB, seq int) *message.Message {
	tb.Helper()
	r, err := oroload.Contact("acme", strconv.Itoa(seq))
	if err != nil {
		tb.Fatal(err)
	}
	body, err := json.Marshal(r)
	if err != nil {
		tb.Fatal(err)
	}
	msg := message.NewMessage(r.MsgID(), body)
	events.Envelope{ID: r.MsgID(), Source: events.Source("acme", "poller"), Type: events.TypeRawRecord, Time: *r.UpdatedAt}.Apply(msg.Metadata)
	delete(msg.Metadata, events.HeaderMsgID) // the unmarshaler moves Nats-Msg-Id to the message UUID
	msg.Metadata.Set(adapters.SubjectKey, "oro.raw.acme.contacts."+r.ID)
	msg.Metadata.Set(adapters.SequenceKey, r.ID)
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
	// Measured as the service runs it: with its garbage-collector setting (GOGC in the environment wins, so
	// GOGC=100 measures Go's default).
	defer service.SetGCPercent(service.Config{})()
	handler := ports.HandlerFunc(app.Transform{Now: time.Now})
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
