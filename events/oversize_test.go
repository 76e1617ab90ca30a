package events

import (
	"strings"
	"testing"
	"time"
)

func TestLargestValuesNameTheValuesThatMakeADocumentBig(t *testing.T) {
	notes := strings.Repeat("n", 5000)
	items := `[` + strings.TrimSuffix(strings.Repeat(`"abcdefghij",`, 300), ",") + `]`
	doc := `{"person":{"displayName":"Ada","customFields":{"notes":"` + notes + `","tags":` + items + `},"jobTitle":"x"}}`
	got := LargestValues([]byte(doc), 2)
	if len(got) != 2 || got[0].Path != "person.customFields.notes" || got[1].Path != "person.customFields.tags" {
		t.Fatalf("largest values %+v, want the notes string and the tags array", got)
	}
	if got[0].Size < len(notes) || got[0].Size > len(notes)+4 {
		t.Errorf("notes size %d, want about %d", got[0].Size, len(notes)+2)
	}
	if got := LargestValues([]byte(`{"a":`), 3); len(got) != 0 {
		t.Errorf("LargestValues of broken JSON = %+v, want none", got)
	}
}

func TestOversizeDeadLetter(t *testing.T) {
	ref := &RecordRef{Tenant: "acme", Type: "contacts", ID: "42"}
	body := []byte(`{"resource":{"attributes":{"bio":"` + strings.Repeat("b", 3000) + `"}}}`)
	dl := Oversize("poller", ref, StreamOroRaw, "oro.raw.acme.contacts.42", body, 1_500_000, 1_048_576,
		"the record stays in Oro", time.Unix(0, 0))
	t.Run("keeps no payload, holds the size, the limit", func(t *testing.T) {
		if dl.Payload != nil || dl.PayloadText != "" || dl.Size != 1_500_000 || dl.Limit != 1_048_576 || dl.Rule != RuleMaxSize {
			t.Fatalf("dead letter %+v", dl)
		}
	})
	t.Run("says how big, what is big", func(t *testing.T) {
		for _, want := range []string{"contacts 42", "1,500,000 bytes", "1,048,576 bytes of ORO_RAW", "resource.attributes.bio", "stays in Oro"} {
			if !strings.Contains(dl.Reason, want) {
				t.Errorf("reason %q does not say %q", dl.Reason, want)
			}
		}
	})
}
