//go:build mercatoe2e

package mercato

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// longDescriptionLikeMercato: Mercato's query index keeps each record's document in a btree index
// (entity_indexes_*_doc_idx INCLUDE doc), whose rows hold at most 2,704 bytes; with encryption on, a description of
// a few thousand characters (Mercato's validator allows 4,000) makes the document too big. A company Mercato's own
// create command writes with the longest Oro account description must fare in search exactly as the synced account.
func (w *world) longDescriptionLikeMercato(t *testing.T) {
	ctx := context.Background()
	page, err := w.oroAll(ctx, "accounts")
	if err != nil {
		t.Fatal(err)
	}
	var name, desc string
	for _, a := range page.Data {
		if d := attr(a, "extend_description"); len(d) > len(desc) {
			name, desc = attr(a, "name"), d
		}
	}
	if len(desc) < 2000 {
		t.Fatalf("no Oro account has a description of 2,000 bytes or more (longest %d): the simulator should seed some", len(desc))
	}
	synced := w.companyNamed(ctx, t, name)
	own := fmt.Sprintf("Mercato made %d", time.Now().UnixNano()%1_000_000)
	var created map[string]any
	if err := w.m.call(ctx, http.MethodPost, "/api/customers/companies", map[string]any{"displayName": own, "description": desc}, &created); err != nil {
		t.Fatalf("Mercato's own create of a company with Oro's %d-byte description: %v", len(desc), err)
	}
	ownID := w.companyNamed(ctx, t, own)
	syncedFound := w.companyFindable(ctx, name, synced)
	ownFound := w.companyFindable(ctx, own, ownID)
	w.figure("long_description_bytes", fmt.Sprint(len(desc)))
	w.figure("long_description_searchable_synced_vs_mercato", fmt.Sprintf("%v/%v", syncedFound, ownFound))
	if syncedFound != ownFound {
		t.Errorf("a company with a %d-byte description: search finds the synced one %v, the one Mercato's command made %v",
			len(desc), syncedFound, ownFound)
	}
}

// companyNamed is the id of the company the list shows under name (read from the list, not search).
func (w *world) companyNamed(ctx context.Context, t *testing.T, name string) string {
	t.Helper()
	all, err := w.m.all(ctx, "/api/customers/companies", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		if str(first(c, "displayName", "display_name")) == name {
			return str(c["id"])
		}
	}
	t.Fatalf("the companies list shows no %q", name)
	return ""
}

// companyFindable tells whether company search finds id under name within 30 s.
func (w *world) companyFindable(ctx context.Context, name, id string) bool {
	return eventually(ctx, 30*time.Second, 200*time.Millisecond, func() error {
		l, err := w.m.listOf(ctx, "/api/customers/companies", url.Values{"search": {name}})
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(l.Items, func(c map[string]any) bool { return str(c["id"]) == id }) {
			return fmt.Errorf("not found")
		}
		return nil
	}) == nil
}

// indexRowTooBig is the PostgreSQL error of a document bigger than its btree index row may be.
var indexRowTooBig = regexp.MustCompile(`index row size \d+ exceeds btree version \d+ maximum \d+`)

// onlyTooBigRows tells whether every error Mercato's reindex logged is a document too big for its index row, and
// how many such errors it logged.
func onlyTooBigRows(logPath string) (bool, int, error) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return false, 0, err
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "error:") {
			continue
		}
		if !indexRowTooBig.MatchString(line) {
			return false, n, nil
		}
		n++
	}
	return true, n, nil
}
