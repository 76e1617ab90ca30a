package fidelity

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/orosim"
	transformer "github.com/orosync/orosync/services/transformer/service"
)

// simulatedIncludes are the types the poller reads, with the related resources it asks Oro to include.
var simulatedIncludes = map[string]string{
	"users": "", "businessunits": "", "accounts": "", "contacts": "addresses", "leads": "addresses",
	"b2bcustomers": "billingAddress,shippingAddress", "opportunities": "", "cases": "", "tasks": "", "calls": "",
	"emails": "", "notes": "",
}

// simulatedRecords are the records of a small simulated Oro CRM (orosim, at a real instance's ratios), read as the
// poller reads them: every type, addresses included.
func simulatedRecords(t *testing.T, contacts int) []events.RawRecord {
	t.Helper()
	srv := httptest.NewServer(orosim.New(orosim.Config{ClientID: "fidelity", ClientSecret: "secret",
		Counts: orosim.CRMCounts(contacts), Seed: 16}))
	t.Cleanup(srv.Close)
	resp, err := http.PostForm(srv.URL+"/oauth2-token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"fidelity"}, "client_secret": {"secret"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v", err)
	}
	var out []events.RawRecord
	for typ, include := range simulatedIncludes {
		q := url.Values{"page[size]": {"-1"}}
		if include != "" {
			q.Set("include", include)
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/"+typ+"?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Accept", "application/vnd.api+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v %s", typ, resp.StatusCode, err, strings.TrimSpace(string(body[:min(len(body), 300)])))
		}
		recs, err := transformer.ParseDocument(body, "acme", time.Now().UTC())
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		out = append(out, recs...)
	}
	return out
}
