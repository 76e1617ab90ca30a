package events

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const oroFixtures = "../testdata/oro-fixtures"

// oroResources returns every resource object (data and included) of Oro's JSON:API fixtures, as JSON.
func oroResources(t testing.TB) [][]byte {
	var out [][]byte
	err := filepath.WalkDir(oroFixtures, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yml") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var doc map[string]any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil // not a document fixture
		}
		for _, member := range []string{"data", "included"} {
			var items []any
			switch v := doc[member].(type) {
			case []any:
				items = v
			case map[string]any:
				items = []any{v}
			}
			for _, it := range items {
				j, err := json.Marshal(it)
				if err != nil {
					return err
				}
				out = append(out, j)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFastHashesEqualTheReferenceOnOroFixtures(t *testing.T) {
	res := oroResources(t)
	if len(res) < 30 {
		t.Fatalf("only %d fixture resources found", len(res))
	}
	var h Hasher
	for _, r := range res {
		// The fixtures as Oro sends them: links added, keys reordered, spaced out.
		var m map[string]any
		if err := json.Unmarshal(r, &m); err != nil {
			t.Fatal(err)
		}
		m["links"] = map[string]any{"self": "https://oro.example/api/x/1"}
		linked, _ := json.MarshalIndent(m, "", "  ")
		for _, in := range [][]byte{r, linked} {
			assertSameHashes(t, &h, in)
			if _, ok := h.canonical(in, true, false); !ok {
				t.Fatalf("fast path refused the plain resource %s", in)
			}
		}
	}
}

func TestFastHashesEqualTheReferenceOnOddInput(t *testing.T) {
	var h Hasher
	for _, in := range []string{
		`{"id":"1","id":"2","links":{"self":"x"},"links":1}`,
		`{"relationships":{"a":{"data":null,"links":{}},"a":null,"b":{"links":{"x":1},"data":[]}}}`,
		`{"relationships":{"a":{"data":null,"links":{}},"b":1}}`,
		`{"relationships":"x","links":null}`,
		`{"relationships":null}`,
		`null`, `[]`, `"x"`, `{`, `{} {}`, `1.50e+3`, `-0.0`,
		`{"s":"\u00e9\/\"\\\b\f\n\r\t\u0001\u007f<>&\u2028\u2029é😀"}`,
		`{"\u0061":1,"a":2,"\ud83d\ude00":3}`,
		`{"lone":"\ud800x","pair":"\ud83d\ude00","bad":"\udc00\ud800"}`,
		"{\"inv\":\"\xff\xfe\"}",
		"{\"ctl\":\"a\x01\"}",
		`{"k":[{"z":1,"a":[true,false,null]},{}],"":""}`,
	} {
		assertSameHashes(t, &h, []byte(in))
	}
}

func assertSameHashes(t *testing.T, h *Hasher, in []byte) {
	t.Helper()
	want, wantErr := resourceHashReference(in)
	got, gotErr := h.ResourceHash(in)
	if got != want || (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("ResourceHash(%q) = %q, %v; reference %q, %v", in, got, gotErr, want, wantErr)
	}
	if json.Valid(in) {
		if got, gotErr := h.ValidResourceHash(in); got != want || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("ValidResourceHash(%q) = %q, %v; reference %q, %v", in, got, gotErr, want, wantErr)
		}
	}
	want, wantErr = payloadHashReference(in)
	got, gotErr = h.PayloadHash(in)
	if got != want || (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("PayloadHash(%q) = %q, %v; reference %q, %v", in, got, gotErr, want, wantErr)
	}
	wantC, _ := canonicalReference(in)
	gotC, _ := canonical(in)
	if string(gotC) != string(wantC) {
		t.Fatalf("canonical(%q) = %q; reference %q", in, gotC, wantC)
	}
}

func FuzzFastHashesEqualTheReference(f *testing.F) {
	for _, r := range oroResources(f) {
		f.Add(r)
	}
	f.Add([]byte(`{"relationships":{"a":{"data":null,"links":{}},"b":1},"links":{}}`))
	f.Add([]byte(`{"s":"\ud800\u00e9\u2028"}`))
	var h Hasher
	f.Fuzz(func(t *testing.T, in []byte) {
		assertSameHashes(t, &h, in)
	})
}

func BenchmarkResourceHash(b *testing.B) {
	res := oroResources(b)
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			for _, r := range res {
				if _, err := resourceHashReference(r); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		var h Hasher
		for b.Loop() {
			for _, r := range res {
				if _, err := h.ResourceHash(r); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
