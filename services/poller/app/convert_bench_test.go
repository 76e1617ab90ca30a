package app

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/orosync/orosync/oro"
	"github.com/orosync/orosync/orosim"
)

// BenchmarkPageOf1000ContactsToRawRecords measures the poller's CPU per page after the HTTP answer: JSON:API
// decoding (oro.ParseDocument, inside List) is measured separately from building the raw records (content hash
// included), the two costs that bound records/s when Oro and JetStream keep up.
func BenchmarkPageOf1000ContactsToRawRecords(b *testing.B) {
	sim := orosim.New(orosim.Config{ClientID: "id", ClientSecret: "secret", Contacts: 1000, Seed: 7})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, err := oro.New(context.Background(), oro.Config{BaseURL: srv.URL + "/api", ClientID: "id", ClientSecret: "secret"})
	if err != nil {
		b.Fatal(err)
	}
	q := oro.Query{PageSize: 1000, NoHateoas: true, Sort: []string{"updatedAt", "id"}}
	page, err := c.List(context.Background(), "contacts", q)
	if err != nil || len(page.Data) != 1000 {
		b.Fatalf("%v (%d records)", err, len(page.Data))
	}
	// The page's document as Oro sent it (noHateoas: data only).
	body := []byte(`{"data":[`)
	for i, r := range page.Data {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, r.Raw...)
	}
	body = append(body, "]}"...)
	p := PollType{Tenant: "acme", Type: "contacts", Now: func() time.Time { return time.Unix(0, 0) }}
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := oro.ParseDocument(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("records", func(b *testing.B) {
		for b.Loop() {
			if recs, _, _ := p.convert(page, true); len(recs) != 1000 {
				b.Fatal(len(recs))
			}
		}
	})
}
