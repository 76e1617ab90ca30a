package oro

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// oroDocuments returns Oro's JSON:API fixture documents as JSON, compact and indented.
func oroDocuments(t testing.TB) [][]byte {
	var out [][]byte
	err := filepath.WalkDir("../testdata/oro-fixtures", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yml") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var doc map[string]any
		if yaml.Unmarshal(b, &doc) != nil || doc["data"] == nil {
			return nil
		}
		compact, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		indented, _ := json.MarshalIndent(doc, " ", "\t")
		out = append(out, compact, indented)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFastParseAgreesWithTheReferenceOnOroFixtures(t *testing.T) {
	docs := oroDocuments(t)
	if len(docs) < 40 {
		t.Fatalf("only %d fixture documents found", len(docs))
	}
	accepted := 0
	for _, b := range docs {
		want, err := parseDocumentReference(b)
		if err != nil {
			assertSameParse(t, b) // request fixtures without an id
			continue
		}
		accepted++
		got, ok := parseDocumentFast(b)
		if !ok {
			t.Fatalf("fast path refused %s", b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast %+v\nreference %+v\nfor %s", got, want, b)
		}
	}
	if accepted < 30 {
		t.Fatalf("only %d fixture documents parse", accepted)
	}
}

func TestFastParseAgreesWithTheReferenceOnOddDocuments(t *testing.T) {
	for _, b := range []string{
		`{"data":{"type":"a","id":"1","typ\u0065":"b"}}`,
		`{"data":{"type":"a","id":"1","type":"b"},"data":[]}`,
		`{"data":[{"type":"a","id":"1","attributes":{"x":1,"x":[ 1 ,2 ],"\u00e9":null,"é":2}}]}`,
		"{\"data\":[{\"type\":\"a\",\"id\":\"\xff\",\"attributes\":{\"\xfe\":1}}]}",
		`{"data":{"type":"a","id":"1","relationships":{"o":{"data":1},"o":{"data":null}}}}`,
		`{"data":{"type":"a","id":"1","relationships":{"o":{"data":[]},"p":{"links":{}},"q":{"data":{"type":"b","id":"\ud800"}}}}}`,
		`{"data":null,"links":{"next":"x","next":null,"self":{"href":"\/y"},"prev":null},"errors":null}`,
		`{"data":[],"included":[{"type":"b","id":"2"}], "meta" : {"totalCount": 3}}`,
		` { "data" : [ { "type" : "a" , "id" : "1" , "attributes" : { } } ] } `,
		`{"data":{"type":"a","id":""}}`, `{"data":"x"}`, `[]`, `{`, `{"errors":[]}`,
	} {
		assertSameParse(t, []byte(b))
	}
}

func assertSameParse(t *testing.T, b []byte) {
	t.Helper()
	want, wantErr := parseDocumentReference(b)
	got, gotErr := ParseDocument(b)
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
		t.Fatalf("ParseDocument(%q) = %+v, %v\nreference %+v, %v", b, got, gotErr, want, wantErr)
	}
}

func FuzzFastParseAgreesWithTheReference(f *testing.F) {
	for _, b := range oroDocuments(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"data":{"type":"a","id":"1","relationships":{"o":{"data":1},"o":{"data":null}}},"links":{"n":null}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		assertSameParse(t, b)
	})
}
