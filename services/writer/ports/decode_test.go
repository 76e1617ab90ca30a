package ports

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	gojson "github.com/goccy/go-json"

	"github.com/orosync/orosync/events"
)

// goldenChanges are the transformer's golden changes: every aggregate and field the mapping writes.
func goldenChanges(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob("../../transformer/domain/testdata/golden/*.jsonl")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no golden changes (%v)", err)
	}
	var out [][]byte
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Change json.RawMessage `json:"change"`
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				tb.Fatalf("%s: %v", f, err)
			}
			if len(line.Change) > 0 && string(line.Change) != "null" {
				out = append(out, line.Change)
			}
		}
		_ = fh.Close()
	}
	return out
}

func decodeBoth(data []byte) (viaGoccy, viaStd events.Change, goccyErr, stdErr error) {
	goccyErr = gojson.Unmarshal(data, &viaGoccy)
	stdErr = json.Unmarshal(data, &viaStd)
	return
}

func TestChangesDecodeAsEncodingJSONDecodesThem(t *testing.T) {
	changes := goldenChanges(t)
	aggregates := map[string]bool{}
	for _, data := range changes {
		g, s, gerr, serr := decodeBoth(data)
		if gerr != nil || serr != nil {
			t.Fatalf("golden change does not decode: goccy %v, encoding/json %v\n%s", gerr, serr, data)
		}
		if !reflect.DeepEqual(g, s) {
			t.Fatalf("decoded differently:\ngoccy         %+v\nencoding/json %+v\n%s", g, s, data)
		}
		aggregates[g.Aggregate] = true
	}
	if len(aggregates) < 5 {
		t.Fatalf("the golden changes cover only %v", aggregates)
	}
}

func FuzzChangeDecodersAgree(f *testing.F) {
	for _, c := range goldenChanges(f) {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, s, gerr, serr := decodeBoth(data)
		if (gerr == nil) != (serr == nil) {
			if serr == nil || !json.Valid(data) {
				t.Fatalf("goccy error %v, encoding/json error %v on %q", gerr, serr, data)
			}
			return
		}
		if gerr == nil && !reflect.DeepEqual(g, s) {
			t.Fatalf("decoded differently:\ngoccy         %+v\nencoding/json %+v\n%q", g, s, data)
		}
	})
}
