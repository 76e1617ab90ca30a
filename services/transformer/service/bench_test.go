package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/transformer/internal/oroload"
	"github.com/orosync/orosync/services/transformer/service"
)

// BenchmarkTransformerThroughJetStream: N raw contacts (as Oro sends them, oroload) already in ORO_RAW, the
// transformer service maps them to MERCATO_CHANGES; timed until a reader has seen N changes stored; events/s.
// The NATS server is embedded: its CPU is in the same process and on the same two cores.
func BenchmarkTransformerThroughJetStream(b *testing.B) {
	s := jstest.Start(b)
	ctx := context.Background()
	nc, err := nats.Connect(s.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream(nats.PublishAsyncMaxPending(4096))
	n := max(b.N, 1000)
	for i := 1; i <= n; i++ {
		r, err := oroload.Contact("acme", fmt.Sprint(i))
		if err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(r)
		msg := nats.NewMsg("oro.raw.acme.contacts." + r.ID)
		msg.Data = body
		events.Envelope{ID: r.MsgID(), Source: events.Source("acme", "poller"), Type: events.TypeRawRecord, Time: *r.UpdatedAt}.Apply(msg.Header)
		if _, err := js.PublishMsgAsync(msg, nats.StallWait(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	cpu0, io0, mem0 := processCPU(), processIO(), memStats()
	b.ResetTimer()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- service.Run(rctx, service.Config{NatsURL: s.URL}) }()
	// Count the changes as a downstream reader sees them.
	changes, err := s.JS.OrderedConsumer(ctx, events.StreamMercatoChanges, jetstream.OrderedConsumerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	it, err := changes.Messages()
	if err != nil {
		b.Fatal(err)
	}
	for range n {
		if _, err := it.Next(); err != nil {
			b.Fatal(err)
		}
	}
	it.Stop()
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	// Process CPU per event: the transformer and the embedded NATS server together, the figure the other helpers'
	// load on this shared machine distorts least.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(n), "cpu-ns/event")
	// Counts the load distorts less still: what a change costs in allocations and in reads and writes on sockets and
	// files (each write to a socket wakes its reader; batching shows here first).
	b.ReportMetric(float64(memStats().Mallocs-mem0.Mallocs)/float64(n), "mallocs/event")
	if io1 := processIO(); io0.ok && io1.ok {
		b.ReportMetric(float64(io1.reads-io0.reads)/float64(n), "read-syscalls/event")
		b.ReportMetric(float64(io1.writes-io0.writes)/float64(n), "write-syscalls/event")
	}
	cancel()
	<-done
}

// processCPU is the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func memStats() runtime.MemStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

// ioCounts are the read and write system calls this process has made (Linux /proc/self/io: syscr, syscw).
type ioCounts struct {
	reads, writes uint64
	ok            bool
}

func processIO() ioCounts {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return ioCounts{}
	}
	var c ioCounts
	for line := range strings.Lines(string(b)) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ": ")
		n, err := strconv.ParseUint(v, 10, 64)
		switch {
		case err != nil:
		case k == "syscr":
			c.reads = n
		case k == "syscw":
			c.writes, c.ok = n, true
		}
	}
	return c
}
