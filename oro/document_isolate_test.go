package oro

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

var deepValue = strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001)

func contact(id, updatedAt, extra string) string {
	return `{"type":"contacts","id":"` + id + `","attributes":{"updatedAt":"` + updatedAt + `"` + extra + `}}`
}

func TestAListPageWithAResourceNestedTooDeep(t *testing.T) {
	page := `{"data":[` + contact("1", "2026-01-01T00:00:01Z", "") + `,` +
		contact("2", "2026-01-01T00:00:02Z", `,"x":`+deepValue) + `,` + contact("3", "2026-01-01T00:00:03Z", "") +
		`],"included":[{"type":"accounts","id":"9","attributes":{"y":` + deepValue + `}},{"type":"accounts","id":"8"}]}`
	if _, err := ParseDocument([]byte(page)); err == nil {
		t.Fatal("ParseDocument took a document nested deeper than encoding/json goes")
	}
	doc, ok := isolateTooDeep([]byte(page))
	if !ok {
		t.Fatal("the page was refused as a whole")
	}
	t.Run("keeps every resource in order", func(t *testing.T) {
		var ids []string
		for _, r := range doc.Data {
			ids = append(ids, r.ID)
		}
		if strings.Join(ids, ",") != "1,2,3" {
			t.Fatalf("data %v, want 1,2,3 in their order", ids)
		}
	})
	t.Run("names the deep one", func(t *testing.T) {
		bad := doc.Data[1]
		if at, ok := bad.UpdatedAt(); !errors.Is(bad.Invalid, ErrTooDeep) || bad.Type != "contacts" || !ok ||
			at.Second() != 2 || !bytes.Equal(bad.Raw, []byte(contact("2", "2026-01-01T00:00:02Z", `,"x":`+deepValue))) {
			t.Errorf("the deep resource: %s %s %v %v", bad.Type, bad.ID, bad.Invalid, at)
		}
	})
	t.Run("marks no other invalid", func(t *testing.T) {
		if doc.Data[0].Invalid != nil || doc.Data[2].Invalid != nil {
			t.Error("a good resource is marked invalid")
		}
	})
	t.Run("leaves out a deep included one", func(t *testing.T) {
		if len(doc.Included) != 1 || doc.Included[0].ID != "8" {
			t.Errorf("included %+v, want account 8 only (the deep one is left out)", doc.Included)
		}
	})
}

func TestAPageBrokenOtherwiseIsRefusedAsAWhole(t *testing.T) {
	good := `{"data":[` + contact("1", "2026-01-01T00:00:01Z", "") + `,` + contact("2", "2026-01-01T00:00:02Z", `,"x":`+deepValue) + `]}`
	for name, page := range map[string]string{
		"truncated":           good[:len(good)/2],
		"malformed elsewhere": strings.Replace(good, `"id":"1"`, `"id":1,,`, 1),
		"nothing too deep":    `{"data":[` + contact("1", "2026-01-01T00:00:01Z", "") + `,}`,
	} {
		if _, ok := isolateTooDeep([]byte(page)); ok {
			t.Errorf("%s: isolated, want the page refused", name)
		}
	}
}

func FuzzIsolateTooDeep(f *testing.F) {
	f.Add([]byte(`{"data":[` + contact("1", "2026-01-01T00:00:01Z", `,"x":`+deepValue) + `]}`))
	f.Add([]byte(`{"data":[{"type":"contacts","id":"1","attributes":{"x":` + strings.Repeat("[", 10_001) + `}}]}`))
	f.Add([]byte(`{"data":[1,` + deepValue + `]}`))
	f.Add([]byte(`{"data":{"type":"contacts","id":"1"}}`))
	f.Add([]byte(`{"data":[{"type":"contacts","id":"1"},{"a":"\"` + deepValue + `]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, ok := isolateTooDeep(b)
		if !ok {
			return
		}
		if json.Valid(b) {
			t.Fatalf("isolated a document encoding/json decodes: %q", b)
		}
		for _, r := range doc.Data {
			if r.Invalid == nil && (r.Type == "" || r.ID == "" || !json.Valid(r.Raw)) {
				t.Fatalf("a resource not marked invalid is not one: %+v", r)
			}
			if r.Invalid != nil && json.Valid(r.Raw) {
				t.Fatalf("a resource marked invalid decodes: %q", r.Raw)
			}
		}
	})
}
