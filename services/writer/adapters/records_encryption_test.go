package adapters_test

import (
	"testing"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters"
)

func TestEncryptedRecordTextIsNotRewrittenByAReplayWithTheSameValues(t *testing.T) {
	const secret = "tenant-data-encryption-key-for-tests"
	dek, err := adapters.DeriveTenantDEK(secret, scope.TenantID.String())
	if err != nil {
		t.Fatal(err)
	}
	sc := scope
	sc.DEK = dek
	e := newEnv(t, sc)
	deal := dealChange("9", 10, "Zoë's renewal", []events.OroRef{ref("contacts", "1")}, nil)
	deal.Deal.Description = ptr("Needs: more")
	task := interactionChange("tasks", "3", 10, "Call Zoë", ref("contacts", "1"))
	task.Interaction.Body = ptr("About the renewal")
	note := noteChange("5", 10, "Zoë likes tea", ref("contacts", "1"))
	e.apply(nil, contact{id: "1", first: "Zoë", last: "Ørsted", email: "zoe@example.com", sec: 1}.change(), deal, task, note)
	var title, desc, itTitle, itBody, body string
	if err := e.db.QueryRow(e.ctx, `SELECT d.title, d.description, i.title, i.body, c.body
FROM customer_deals d, customer_interactions i, customer_comments c`).Scan(&title, &desc, &itTitle, &itBody, &body); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ stored, want string }{{title, "Zoë's renewal"}, {desc, "Needs: more"}, {itTitle, "Call Zoë"},
		{itBody, "About the renewal"}, {body, "Zoë likes tea"}} {
		if got := mercatoDecrypt(t, secret, scope.TenantID.String(), c.stored); got != c.want {
			t.Errorf("decrypted %q, want %q", got, c.want)
		}
	}
	// Texts with a space or a non-ASCII letter cannot appear inside base64 ciphertext by chance.
	if n := e.count(`SELECT count(*) FROM orosync_records WHERE snapshot::text LIKE '%likes tea%' OR snapshot::text LIKE '%Zoë%'
OR snapshot::text LIKE '%the renewal%'`); n != 0 {
		t.Errorf("%d snapshots hold plaintext", n)
	}
	versions := map[string]map[string]string{}
	for _, tbl := range []string{"customer_deals", "customer_interactions", "customer_comments"} {
		versions[tbl] = e.rowVersions(tbl)
	}
	var replay []events.Change
	for _, c := range []events.Change{deal, task, note} {
		c.MappingVersion = "oro-v2"
		replay = append(replay, c)
	}
	e.apply(nil, replay...)
	for tbl, before := range versions {
		if n := rewrites(before, e.rowVersions(tbl)); n != 0 {
			t.Errorf("a replay with the same values rewrote %d rows of %s", n, tbl)
		}
	}
	if n := len(e.events("customers.deal.updated")) + len(e.events("customers.interaction.updated")) +
		len(e.events("customers.comment.updated")); n != 0 {
		t.Errorf("%d updated events for a replay with the same values", n)
	}
}
