package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
pkg: github.com/orosync/orosync/cmd/orosync
BenchmarkFreshness-2   	       1	      2000 poll-interval-ms	      3000 poll-p50-ms	      5000 poll-p99-ms	        15 webhook-p50-ms	      6000 webhook-p99-ms	         0 ns/op
--- BENCH: BenchmarkFreshness-2
    bench_freshness_test.go:45: webhooks false: delays [...]
BenchmarkWriterSQL/insert-2         	      20	  98000000 ns/op	      9000 contacts/s
BenchmarkWriterSQL/insert-2         	      20	  98000000 ns/op	     10000 contacts/s
BenchmarkReferenceUnnestWriter/insert-2	      20	  70000000 ns/op	     14000 contacts/s
BenchmarkPageOf1000From1MContacts/keyset-recent-noHateoas-2	     100	  10000000 ns/op
BenchmarkInitialSyncOfAMillionContacts/unlimited-2	       1	     18000 records/s
BenchmarkReplayAfterAMappingChange-2	       1	      5000 floor-contacts/s	      4000 import-contacts/s	        20 import-s	        10 onepct-replay-s	        40 onepct-every-record-s	      4000 replay-contacts/s
PASS
`

func TestTheTableGivesEachFigureAsARatioToItsAnchorOfTheSameRun(t *testing.T) {
	res, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	write(&b, figures(), res)
	table := b.String()
	for _, row := range []string{
		"| freshness with polling, p50 | 3000 | BenchmarkFreshness poll-interval-ms | 2000 | 1.5 |",
		"| freshness with webhooks, p99 | 6000 | BenchmarkFreshness poll-p50-ms | 3000 | 2 |",
		"| writer SQL, insert, contacts/s | 10000 | BenchmarkReferenceUnnestWriter/insert contacts/s | 14000 | 0.714 |", // the last line
		"| poller without a rate limit, records/s | 18000 | the simulator serving its pages alone, records/s | 100000 | 0.18 |",
		"| writer SQL, update every row, contacts/s | not measured in this run",
		"| writer SQL, replay with the same values, contacts/s | not measured in this run",
		"| replay after a mapping change rewriting every row, contacts/s | 4000 | BenchmarkReplayAfterAMappingChange floor-contacts/s | 5000 | 0.8 |",
		"| replay after a mapping change of 1 % of the rows, s | 10 | BenchmarkReplayAfterAMappingChange import-s | 20 | 0.5 |",
		"| the same 1 % replay against one publishing every change, s | 10 | BenchmarkReplayAfterAMappingChange onepct-every-record-s | 40 | 0.25 |",
		"| first import of the replayed contacts, contacts/s | 4000 | BenchmarkReplayAfterAMappingChange import-floor-contacts/s: not measured in this run",
	} {
		if !strings.Contains(table, row) {
			t.Errorf("the table lacks %q:\n%s", row, table)
		}
	}
	if n := strings.Count(table, "\n"); n != len(figures())+2 {
		t.Errorf("%d lines, want a header, a rule and one per figure (%d):\n%s", n, len(figures()), table)
	}
}

func TestParseNamesTheBenchmarkAndUnitOfAValueThatIsNoNumber(t *testing.T) {
	_, err := parse(strings.NewReader("BenchmarkX-2\t1\tabc records/s\n"))
	if err == nil || !strings.Contains(err.Error(), "BenchmarkX") || !strings.Contains(err.Error(), "records/s") {
		t.Errorf("err = %v, want one naming BenchmarkX and records/s", err)
	}
}
