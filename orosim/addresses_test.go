package orosim

import (
	"net/http"
	"slices"
	"testing"
)

// addressIDs are the ids of a record's "addresses" relationship, in Oro's order.
func (h *harness) addressIDs(path string) []string {
	h.t.Helper()
	d, _ := h.getDoc(path+"/relationships/addresses", http.StatusOK)
	var out []string
	for _, x := range d["data"].([]any) {
		out = append(out, x.(doc)["id"].(string))
	}
	return out
}

func (h *harness) updatedAt(path string) any {
	h.t.Helper()
	d, _ := h.getDoc(path, http.StatusOK)
	return attrs(d["data"])["updatedAt"]
}

func TestContactAddresses(t *testing.T) {
	clock := newFakeClock()
	h := newHarness(t, Config{Contacts: 10, Counts: map[string]int{"accounts": 2}, Now: clock.Now})
	before := h.updatedAt("/api/contacts/2")
	clock.Advance(10e9)
	create := func(primary string) string {
		resp, d := h.send(http.MethodPost, "/api/contactaddresses", `{"data":{"type":"contactaddresses","attributes":{"primary":`+primary+
			`,"street":"873 John Avenue","city":"Jackson"},"relationships":{"owner":{"data":{"type":"contacts","id":"2"}},`+
			`"country":{"data":{"type":"countries","id":"US"}},"types":{"data":[{"type":"addresstypes","id":"shipping"}]}}}}`)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create: %d %v", resp.StatusCode, d)
		}
		return d["data"].(doc)["id"].(string)
	}
	a, b := create("false"), create("true")
	t.Run("come primary first", func(t *testing.T) {
		if got := h.addressIDs("/api/contacts/2"); !slices.Equal(got[:2], []string{b, a}) {
			t.Errorf("addresses %v, want the primary %s first, then %s", got, b, a)
		}
	})
	t.Run("created, leave their owner's updatedAt", func(t *testing.T) {
		if after := h.updatedAt("/api/contacts/2"); after != before {
			t.Errorf("the contact's updatedAt moved from %v to %v: Oro does not touch the owner", before, after)
		}
	})
	t.Run("included with the contact", func(t *testing.T) {
		d, _ := h.getDoc("/api/contacts?filter[id]=2&include=addresses", http.StatusOK)
		var got []string
		for _, x := range d["included"].([]any) {
			if r := x.(doc); r["type"] == "contactaddresses" {
				got = append(got, r["id"].(string))
			}
		}
		if !slices.Contains(got, a) || !slices.Contains(got, b) {
			t.Errorf("included %v, want %s and %s", got, a, b)
		}
	})
	t.Run("a primary flag moves it", func(t *testing.T) {
		h.send(http.MethodPatch, "/api/contactaddresses/"+b, `{"data":{"type":"contactaddresses","id":"`+b+`","attributes":{"primary":false}}}`)
		h.send(http.MethodPatch, "/api/contactaddresses/"+a, `{"data":{"type":"contactaddresses","id":"`+a+`","attributes":{"primary":true}}}`)
		if got := h.addressIDs("/api/contacts/2"); got[0] != a {
			t.Errorf("addresses %v, want %s first", got, a)
		}
	})
	t.Run("a deleted address leaves its owner", func(t *testing.T) {
		h.send(http.MethodDelete, "/api/contactaddresses/"+a, "")
		if got := h.addressIDs("/api/contacts/2"); slices.Contains(got, a) {
			t.Errorf("addresses %v still hold %s", got, a)
		}
	})
	t.Run("a deleted contact takes its addresses", func(t *testing.T) {
		h.send(http.MethodDelete, "/api/contacts/2", "")
		h.getDoc("/api/contactaddresses/"+b, http.StatusNotFound)
	})
	t.Run("owner and country are required", func(t *testing.T) {
		resp, d := h.send(http.MethodPost, "/api/contactaddresses", `{"data":{"type":"contactaddresses","attributes":{"street":"x"}}}`)
		if resp.StatusCode != http.StatusBadRequest || len(d["errors"].([]any)) != 2 {
			t.Errorf("%d %v", resp.StatusCode, d)
		}
	})
	t.Run("audited", func(t *testing.T) {
		var rows []map[string]any
		getJSON(t, h, "/api/rest/latest/audits?objectClass=Oro_Bundle_ContactBundle_Entity_ContactAddress&objectId="+a, &rows)
		if len(rows) != 3 {
			t.Errorf("audit rows %v, want create, update and remove", rows)
		}
	})
}

func TestLeadAddressesAreServedLikeOros(t *testing.T) {
	h := crmHarness(t)
	resp, d := h.send(http.MethodPost, "/api/leadaddresses", `{"data":{"type":"leadaddresses","attributes":{"primary":true,"label":"Primary Address",`+
		`"street":"873 John Avenue","city":"Jackson","postalCode":"49201"},"relationships":{"owner":{"data":{"type":"leads","id":"1"}},`+
		`"country":{"data":{"type":"countries","id":"US"}},"region":{"data":{"type":"regions","id":"US-CA"}}}}}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, d)
	}
	id := d["data"].(doc)["id"].(string)
	if _, hasTypes := d["data"].(doc)["relationships"].(doc)["types"]; hasTypes {
		t.Error("a lead address has no address types in Oro")
	}
	d, _ = h.getDoc("/api/leads/1?include=addresses", http.StatusOK)
	inc := d["included"].([]any)
	if len(inc) != 1 || inc[0].(doc)["type"] != "leadaddresses" || inc[0].(doc)["id"] != id {
		t.Errorf("included %v", inc)
	}
}

func TestB2bCustomerAddressesArePlainAddresses(t *testing.T) {
	h := crmHarness(t)
	resp, d := h.send(http.MethodPost, "/api/addresses", `{"data":{"type":"addresses","attributes":{"street":"1 Main St","city":"Boston"},`+
		`"relationships":{"country":{"data":{"type":"countries","id":"US"}}}}}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, d)
	}
	id := d["data"].(doc)["id"].(string)
	h.send(http.MethodPatch, "/api/b2bcustomers/1", `{"data":{"type":"b2bcustomers","id":"1","relationships":{"billingAddress":{"data":{"type":"addresses","id":"`+id+`"}}}}}`)
	d, _ = h.getDoc("/api/b2bcustomers/1?include=billingAddress,shippingAddress", http.StatusOK)
	inc := d["included"].([]any)
	if len(inc) != 1 || inc[0].(doc)["type"] != "addresses" || attrs(inc[0])["street"] != "1 Main St" {
		t.Errorf("included %v", inc)
	}
}
