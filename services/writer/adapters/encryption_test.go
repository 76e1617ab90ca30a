package adapters_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/orosync/orosync/events"
	"github.com/orosync/orosync/services/writer/adapters"
	"github.com/orosync/orosync/services/writer/adapters/rowkit"
)

const testSecret = "tenant-data-encryption-key-for-tests"

// cryptoAnswer is what testdata/mercato-crypto.mjs answers.
type cryptoAnswer struct {
	Encrypts  bool      `json:"encrypts"`
	Source    string    `json:"source"`
	Decrypted []*string `json:"decrypted"`
	Encrypted []string  `json:"encrypted"`
	Hashes    []string  `json:"hashes"`
}

// mercatoCrypto asks testdata/mercato-crypto.mjs, an implementation of Mercato's encryption in Node written from
// Mercato's source apart from orosync's Go, run with exactly the given encryption environment.
func mercatoCrypto(t *testing.T, env map[string]string, tenant uuid.UUID, decrypt, encrypt, hash []string) cryptoAnswer {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the cross-check needs Node.js (node) on PATH: %v", err)
	}
	req, _ := json.Marshal(map[string]any{"tenant": tenant.String(), "decrypt": decrypt, "encrypt": encrypt, "hash": hash})
	cmd := exec.Command(node, "testdata/mercato-crypto.mjs")
	cmd.Stdin = bytes.NewReader(req)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mercato-crypto.mjs: %v\n%s", err, stderr.String())
	}
	var a cryptoAnswer
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("mercato-crypto.mjs answered %q: %v", out, err)
	}
	return a
}

// seedEncryptionMaps writes encryption_maps rows as Mercato's setup and its admin page do: one per entity, for the
// tenant and organization given (uuid.Nil: NULL), fields_json [{field}].
func (e *env) seedEncryptionMaps(tenant, org any, maps map[string][]string) {
	e.t.Helper()
	for entity, cols := range maps {
		var rules []map[string]string
		for _, c := range cols {
			rules = append(rules, map[string]string{"field": c})
		}
		b, _ := json.Marshal(rules)
		if _, err := e.db.Exec(e.ctx, `INSERT INTO encryption_maps (entity_id, tenant_id, organization_id, fields_json, is_active,
created_at, updated_at) VALUES ($1, $2, $3, $4, true, now(), now())`, entity, tenant, org, b); err != nil {
			e.t.Fatal(err)
		}
	}
}

// newEncryptedEnv is a writer for a tenant whose Mercato runs with the environment env, and whose setup seeded
// Mercato's default encryption maps when seed is set.
func newEncryptedEnv(t *testing.T, env map[string]string, seed bool) *env {
	t.Helper()
	keys, err := rowkit.ReadKeys(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	sc := scope
	if sc.DEK, err = keys.TenantDEK(scope.TenantID.String()); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, sc)
	if seed {
		e.seedEncryptionMaps(scope.TenantID, scope.OrganizationID, rowkit.DefaultEncryptedColumns())
	}
	return e
}

func TestEncryptedTextIsNotRewrittenByAReplayWithTheSameValues(t *testing.T) {
	e := newEncryptedEnv(t, map[string]string{"TENANT_DATA_ENCRYPTION_KEY": testSecret}, true)
	ann := contact{id: "1", first: "Zoë", last: "Ørsted", email: "zoe@example.com", job: "Engineer", sec: 10}
	e.apply(nil, ann.change())
	if n := e.count(`SELECT count(*) FROM orosync_records WHERE snapshot::text ~ 'zoe@|Zoë|Ørsted'`); n != 0 {
		t.Errorf("%d of orosync's snapshots hold plaintext", n)
	}
	// Ciphertexts differ each time, but comparisons are made on decrypted values: nothing of Mercato's is rewritten.
	before := e.person("1").updatedAt
	c := ann.change()
	c.MappingVersion = "contacts-v2"
	if r := e.apply(nil, c); r.Updated != 0 {
		t.Errorf("replay with the same values: %+v", r)
	}
	if after := e.person("1").updatedAt; !after.Equal(before) {
		t.Errorf("updated_at moved %v → %v on a replay with the same values", before, after)
	}
}

// encryptionSetup is one way a Mercato installation may run its tenant data encryption.
type encryptionSetup struct {
	name string
	env  map[string]string
	// custom seeds the tenant's own encryption maps instead of those Mercato's setup seeds.
	custom func(e *env, sc adapters.Scope)
	// plain: Mercato stores every column as plaintext.
	plain bool
	// encrypted lists the "table.column"s encrypted; nil: those of Mercato's default maps.
	encrypted map[string]bool
}

func encryptionSetups() []encryptionSetup {
	return []encryptionSetup{
		{name: "the key", env: map[string]string{"TENANT_DATA_ENCRYPTION_KEY": testSecret}},
		{name: "the fallback key, preferred to the key",
			env: map[string]string{"TENANT_DATA_ENCRYPTION_FALLBACK_KEY": "the-fallback-secret", "TENANT_DATA_ENCRYPTION_KEY": testSecret}},
		{name: "a quoted secret with spaces around it", env: map[string]string{"TENANT_DATA_ENCRYPTION_KEY": "  \"" + testSecret + "\"\n"}},
		{name: "Mercato's development secret", env: map[string]string{"ALLOW_DERIVED_KMS_FALLBACK": "true"}},
		{name: "encryption turned off", env: map[string]string{"TENANT_DATA_ENCRYPTION": " No ", "TENANT_DATA_ENCRYPTION_KEY": testSecret},
			plain: true},
		{name: "no secret", env: map[string]string{}, plain: true},
		{name: "the tenant's own maps", env: map[string]string{"TENANT_DATA_ENCRYPTION_KEY": testSecret},
			custom: func(e *env, sc adapters.Scope) {
				// The organization's map for entity rows (camelCase, as Mercato also accepts), the tenant's for profiles
				// and deals, an installation-wide one for deals (overridden) and interactions; comments have none.
				e.seedEncryptionMaps(sc.TenantID, sc.OrganizationID, map[string][]string{rowkit.EntityCustomerEntity: {"displayName"}})
				e.seedEncryptionMaps(sc.TenantID, nil, map[string][]string{rowkit.EntityPersonProfile: {"last_name"},
					rowkit.EntityCustomerEntity: {"primary_email"}, rowkit.EntityDeal: {"description"}})
				e.seedEncryptionMaps(nil, nil, map[string][]string{rowkit.EntityDeal: {"title", "description"}, rowkit.EntityInteraction: {"body"}})
			},
			encrypted: map[string]bool{"customer_entities.display_name": true, "customer_people.last_name": true,
				"customer_deals.description": true, "customer_interactions.body": true}},
	}
}

// storedColumns reads the columns Mercato may encrypt of a tenant's one person, deal, task and note.
func (e *env) storedColumns(tenant uuid.UUID) map[string]string {
	e.t.Helper()
	cols := []string{"customer_entities.display_name", "customer_entities.primary_email", "customer_people.first_name",
		"customer_people.last_name", "customer_people.job_title", "customer_deals.title", "customer_deals.description",
		"customer_interactions.title", "customer_interactions.body", "customer_comments.body"}
	vals := make([]string, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := e.db.QueryRow(e.ctx, `SELECT e.display_name, e.primary_email, p.first_name, p.last_name, p.job_title, d.title,
       d.description, i.title, i.body, c.body
FROM customer_entities e JOIN customer_people p ON p.entity_id = e.id, customer_deals d, customer_interactions i, customer_comments c
WHERE e.tenant_id = $1 AND d.tenant_id = $1 AND i.tenant_id = $1 AND c.tenant_id = $1`, tenant).Scan(ptrs...); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for i, c := range cols {
		out[c] = vals[i]
	}
	return out
}

// setUpsEnv is one database with one connection (its own Mercato tenant) per set-up, each as its Mercato runs:
// key derived from its environment, maps seeded as setup or its admin would, and the encrypted stream applied.
func setUpsEnv(t *testing.T, setups []encryptionSetup) (*env, []string) {
	t.Helper()
	scopes, conns := map[string]adapters.Scope{}, make([]string, len(setups))
	for i, su := range setups {
		keys, err := rowkit.ReadKeys(func(k string) string { return su.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		sc := adapters.Scope{TenantID: uuid.NewSHA1(uuid.NameSpaceOID, []byte("tenant "+su.name)),
			OrganizationID: uuid.NewSHA1(uuid.NameSpaceOID, []byte("organization "+su.name))}
		if sc.DEK, err = keys.TenantDEK(sc.TenantID.String()); err != nil {
			t.Fatal(err)
		}
		conns[i] = fmt.Sprintf("setup%d", i)
		scopes[conns[i]] = sc
	}
	e := newEnvOf(t, scopes)
	var stream []events.Change
	for i, su := range setups {
		sc := scopes[conns[i]]
		if su.custom != nil {
			su.custom(e, sc)
		} else {
			e.seedEncryptionMaps(sc.TenantID, sc.OrganizationID, rowkit.DefaultEncryptedColumns())
		}
		stream = append(stream, encryptedStream(conns[i])...)
	}
	e.apply(nil, stream...)
	return e, conns
}

func TestEveryEncryptionSetUpMercatoSupportsIsReadByAnIndependentImplementation(t *testing.T) {
	want := map[string]string{"customer_entities.display_name": "Zoë Ørsted", "customer_entities.primary_email": "zoe@example.com",
		"customer_people.first_name": "Zoë", "customer_people.last_name": "Ørsted", "customer_people.job_title": "Engineer",
		"customer_deals.title": "Zoë's renewal", "customer_deals.description": "Needs: more", "customer_interactions.title": "Call Zoë",
		"customer_interactions.body": "About the renewal", "customer_comments.body": "Zoë likes tea"}
	setups := encryptionSetups()
	e, conns := setUpsEnv(t, setups)
	for i, su := range setups {
		t.Run(su.name, func(t *testing.T) {
			e := *e
			e.t = t
			sc, _ := e.store.Scope(conns[i])
			var cols, vals []string
			for c, v := range e.storedColumns(sc.TenantID) {
				cols, vals = append(cols, c), append(vals, v)
			}
			a := mercatoCrypto(t, su.env, sc.TenantID, vals, []string{"Zoë edited in Mercato"}, nil)
			if a.Encrypts == su.plain {
				t.Fatalf("Mercato encrypts: %v (%s), want %v", a.Encrypts, a.Source, !su.plain)
			}
			for i, c := range cols {
				encrypted := !su.plain && (su.encrypted == nil || su.encrypted[c])
				switch got := a.Decrypted[i]; {
				case encrypted && (got == nil || *got != want[c]):
					t.Errorf("%s = %q: Mercato reads %v, want %q", c, vals[i], deref(got), want[c])
				case !encrypted && (got != nil || vals[i] != want[c]):
					t.Errorf("%s = %q, want the plaintext %q", c, vals[i], want[c])
				}
			}
			// Texts with a space or a non-ASCII letter cannot appear inside base64 ciphertext by chance.
			if n := e.count(`SELECT count(*) FROM orosync_records WHERE tenant_id = $1 AND snapshot::text ~ 'likes tea|Zoë|the renewal'`,
				sc.TenantID); n != 0 && !su.plain {
				t.Errorf("%d of orosync's snapshots hold plaintext", n)
			}
			e.assertReadsMercatosCiphertext(sc, a)
		})
	}
	e.assertReplayRewritesNothing(conns)
}

// encryptedStream is a person with a deal, a task and a note of a connection, the rows whose columns Mercato
// encrypts.
func encryptedStream(conn string) []events.Change {
	deal := dealChange("9", 10, "Zoë's renewal", []events.OroRef{ref("contacts", "1")}, nil)
	deal.Deal.Description = ptr("Needs: more")
	task := interactionChange("tasks", "3", 10, "Call Zoë", ref("contacts", "1"))
	task.Interaction.Body = ptr("About the renewal")
	note := noteChange("5", 10, "Zoë likes tea", ref("contacts", "1"))
	cs := []events.Change{contact{id: "1", first: "Zoë", last: "Ørsted", email: "zoe@example.com", job: "Engineer", sec: 1}.change(),
		deal, task, note}
	for i := range cs {
		cs[i].Tenant, cs[i].Source.Tenant = conn, conn
	}
	return cs
}

// assertReadsMercatosCiphertext: a value Mercato encrypted (here: Node) reads as its plaintext in the writer.
func (e *env) assertReadsMercatosCiphertext(sc adapters.Scope, a cryptoAnswer) {
	e.t.Helper()
	if sc.DEK == "" {
		if a.Encrypted[0] != "Zoë edited in Mercato" {
			e.t.Errorf("Mercato without encryption wrote %q", a.Encrypted[0])
		}
		return
	}
	c, err := rowkit.NewCipher(sc.DEK)
	if err != nil {
		e.t.Fatal(err)
	}
	if got := c.Decrypt(a.Encrypted[0]); got != "Zoë edited in Mercato" {
		e.t.Errorf("the writer reads Mercato's %q as %q", a.Encrypted[0], got)
	}
}

// assertReplayRewritesNothing: the writer reads back what it wrote, so the same values again change no row.
func (e *env) assertReplayRewritesNothing(conns []string) {
	e.t.Helper()
	tables := []string{"customer_entities", "customer_people", "customer_deals", "customer_interactions", "customer_comments"}
	versions := map[string]map[string]string{}
	for _, tbl := range tables {
		versions[tbl] = e.rowVersions(tbl)
	}
	var replay []events.Change
	for _, conn := range conns {
		for _, c := range encryptedStream(conn) {
			c.MappingVersion = "oro-v2"
			replay = append(replay, c)
		}
	}
	e.apply(nil, replay...)
	for _, tbl := range tables {
		if n := rewrites(versions[tbl], e.rowVersions(tbl)); n != 0 {
			e.t.Errorf("a replay with the same values rewrote %d rows of %s", n, tbl)
		}
	}
}

func TestTheFallbackKeyIsTheOneMercatoUses(t *testing.T) {
	env := map[string]string{"TENANT_DATA_ENCRYPTION_FALLBACK_KEY": "the-fallback-secret", "TENANT_DATA_ENCRYPTION_KEY": testSecret}
	e := newEncryptedEnv(t, env, true)
	e.apply(nil, encryptedStream("acme")...)
	display := e.storedColumns(scope.TenantID)["customer_entities.display_name"]
	if a := mercatoCrypto(t, map[string]string{"TENANT_DATA_ENCRYPTION_KEY": testSecret}, scope.TenantID, []string{display}, nil, nil); a.Decrypted[0] != nil {
		t.Errorf("%q decrypts with TENANT_DATA_ENCRYPTION_KEY, want it under the fallback key only", display)
	}
}

func TestAnEditedEncryptionMapIsFollowedOnceReadAgain(t *testing.T) {
	e := newEncryptedEnv(t, map[string]string{"TENANT_DATA_ENCRYPTION_KEY": testSecret}, false)
	e.store.EncryptionMapsTTL = -1 // read before every batch
	e.apply(nil, noteChange("5", 10, "before the map", ref("contacts", "1")), encryptedStream("acme")[0])
	e.seedEncryptionMaps(scope.TenantID, scope.OrganizationID, map[string][]string{rowkit.EntityComment: {"body"}})
	e.apply(nil, noteChange("5", 20, "after the map", ref("contacts", "1")))
	var body string
	if err := e.db.QueryRow(e.ctx, `SELECT body FROM customer_comments`).Scan(&body); err != nil {
		t.Fatal(err)
	}
	if a := mercatoCrypto(t, map[string]string{"TENANT_DATA_ENCRYPTION_KEY": testSecret}, scope.TenantID, []string{body}, nil, nil); a.Decrypted[0] == nil ||
		*a.Decrypted[0] != "after the map" {
		t.Errorf("comment body %q after the tenant's map listed it, want it encrypted", body)
	}
}

func TestLookupHashesAreMercatos(t *testing.T) {
	values := []string{"  Zoe@Example.COM ", "İstanbul@x.io", "ΟΔΟΣ Σ", "\ufeffa@b\u00a0", "x\u0085"}
	for _, env := range []map[string]string{{}, {"TENANT_DATA_ENCRYPTION_KEY": "'k1'"},
		{"TENANT_DATA_ENCRYPTION_FALLBACK_KEY": "k2", "TENANT_DATA_ENCRYPTION_KEY": "k1"}, {"LOOKUP_HASH_PEPPER": " p ", "TENANT_DATA_ENCRYPTION_KEY": "k1"}} {
		keys, err := rowkit.ReadKeys(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		a := mercatoCrypto(t, env, scope.TenantID, nil, nil, values)
		for i, v := range values {
			if got := rowkit.HashForLookup(keys.Pepper, v); got != a.Hashes[i] {
				t.Errorf("env %v: hash of %q = %s, Mercato's %s", env, v, got, a.Hashes[i])
			}
			if c := rowkit.LookupHashCandidates(keys.Pepper, v); c[0] != a.Hashes[i] || (keys.Pepper != "" && len(c) != 2) {
				t.Errorf("env %v: candidates of %q = %v", env, v, c)
			}
		}
	}
}

func TestAVaultSetUpIsRefusedNamingIt(t *testing.T) {
	_, err := rowkit.ReadKeys(func(k string) string {
		return map[string]string{"VAULT_ADDR": "http://vault:8200", "VAULT_TOKEN": "s.x", "TENANT_DATA_ENCRYPTION_KEY": testSecret}[k]
	})
	if err == nil || !strings.Contains(err.Error(), "Vault") {
		t.Fatalf("err = %v, want a refusal naming Vault", err)
	}
	// With encryption off Mercato never asks Vault.
	if _, err := rowkit.ReadKeys(func(k string) string {
		return map[string]string{"VAULT_ADDR": "http://vault:8200", "VAULT_TOKEN": "s.x", "TENANT_DATA_ENCRYPTION": "0"}[k]
	}); err != nil {
		t.Errorf("Vault with encryption off: %v", err)
	}
}
