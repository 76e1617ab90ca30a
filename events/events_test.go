package events

import (
	"strings"
	"testing"
	"time"
)

func TestSameContentHashesTheSameWhateverKeyOrderOrSpacing(t *testing.T) {
	a, err := PayloadHash([]byte(`{"id":"1","attributes":{"b":1.50,"a":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := PayloadHash([]byte("{ \"attributes\": {\"a\":\"x\", \"b\":1.50}, \"id\":\"1\" }"))
	c, _ := PayloadHash([]byte(`{"id":"1","attributes":{"b":1.5,"a":"x"}}`))
	if a != b {
		t.Error("key order or spacing changed the hash")
	}
	if a == c {
		t.Error("1.50 and 1.5 hash the same: numbers must be kept verbatim")
	}
	if _, err := PayloadHash([]byte(`{"id":`)); err == nil {
		t.Error("broken JSON hashed")
	}
}

func TestMessageIDsAreDeterministicPerVersion(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := RawRecord{RecordRef: RecordRef{Tenant: "acme", Type: "contacts", ID: "1"}, UpdatedAt: &at, PayloadHash: "h1"}
	same := r
	same.ObservedAt = at.Add(time.Hour) // observed again later: same version, same id
	if r.MsgID() != same.MsgID() {
		t.Error("re-observing the same version changed its message id")
	}
	next := r
	later := at.Add(time.Second)
	next.UpdatedAt = &later
	if r.MsgID() == next.MsgID() {
		t.Error("a new version kept the old message id")
	}
	other := r
	other.Tenant = "globex"
	if r.MsgID() == other.MsgID() {
		t.Error("two tenants share a message id")
	}
}

func TestVersionsOrderByUpdatedAtThenHash(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	old := SourceVersion{UpdatedAt: at, PayloadHash: "b"}
	newer := SourceVersion{UpdatedAt: at.Add(time.Second), PayloadHash: "a"}
	tie := SourceVersion{UpdatedAt: at, PayloadHash: "c"}
	if old.Compare(newer) != -1 || newer.Compare(old) != 1 || old.Compare(old) != 0 || old.Compare(tie) != -1 {
		t.Error("version order broken")
	}
}

func TestSubjectsRefuseTokensThatWouldCorruptThem(t *testing.T) {
	if s, err := RawSubject("acme", "contacts", "42"); err != nil || s != "oro.raw.acme.contacts.42" {
		t.Errorf("RawSubject = %q, %v", s, err)
	}
	for _, bad := range []string{"", "4.2", "4 2", "*", ">"} {
		if _, err := RawSubject("acme", "contacts", bad); err == nil {
			t.Errorf("id %q accepted", bad)
		}
	}
	if got := DeadLetterSubject("transformer", RecordRef{Tenant: "acme", Type: "contacts", ID: "4.2"}); got != "orosync.dlq.transformer.acme.contacts._invalid" {
		t.Errorf("DeadLetterSubject = %q", got)
	}
	if s, _ := EventSubject("acme", "customers.person.created", "e1"); s != "mercato.events.acme.customers.person.created.e1" {
		t.Errorf("EventSubject = %q", s)
	}
	ref, err := ParseRawSubject("oro.raw.acme.contacts.42")
	if err != nil || ref != (RecordRef{Tenant: "acme", Type: "contacts", ID: "42"}) {
		t.Errorf("ParseRawSubject = %v, %v", ref, err)
	}
}

func TestCloudEventsHeadersRoundTrip(t *testing.T) {
	e := Envelope{ID: "raw-1", Source: Source("acme", "poller"), Type: TypeRawRecord, Subject: "contacts/1",
		Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	h := e.Headers()
	if h[HeaderMsgID] != "raw-1" || h[HeaderSpecVersion] != "1.0" {
		t.Errorf("headers %v", h)
	}
	got, err := ReadEnvelope(func(k string) string { return h[k] })
	if err != nil || got != e {
		t.Errorf("ReadEnvelope = %+v, %v", got, err)
	}
	delete(h, HeaderType)
	if _, err := ReadEnvelope(func(k string) string { return h[k] }); err == nil || !strings.Contains(err.Error(), HeaderType) {
		t.Errorf("missing ce-type: %v", err)
	}
}

func TestResourceHashIgnoresHATEOASLinks(t *testing.T) {
	bare := `{"type":"contacts","id":"1","attributes":{"firstName":"Zoë"},"relationships":{"owner":{"data":{"type":"users","id":"2"}}}}`
	linked := `{"type":"contacts","id":"1","links":{"self":"https://crm/api/contacts/1"},"attributes":{"firstName":"Zoë"},` +
		`"relationships":{"owner":{"links":{"self":"https://crm/api/contacts/1/relationships/owner"},"data":{"type":"users","id":"2"}}}}`
	changed := `{"type":"contacts","id":"1","attributes":{"firstName":"Zoe"},"relationships":{"owner":{"data":{"type":"users","id":"2"}}}}`
	a, err := ResourceHash([]byte(bare))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ResourceHash([]byte(linked))
	c, _ := ResourceHash([]byte(changed))
	if a != b {
		t.Error("links changed the hash of the same version")
	}
	if a == c {
		t.Error("a changed attribute kept the hash")
	}
	if _, err := ResourceHash([]byte(`[`)); err == nil {
		t.Error("broken JSON hashed")
	}
}
