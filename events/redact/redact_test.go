package redact

import (
	"net/url"
	"testing"
)

func TestURLShowsEverythingButPasswords(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://orosync:s3cret@db:5432/mercato?sslmode=disable", "postgres://orosync:xxxxx@db:5432/mercato?sslmode=disable"},
		{"postgres://postgres@127.0.0.1:5432/orosync_demo?sslmode=disable", "postgres://postgres@127.0.0.1:5432/orosync_demo?sslmode=disable"},
		{"postgres://u@h/db?password=s3cret&sslmode=require", "postgres://u@h/db?password=xxxxx&sslmode=require"},
		{"postgres://u:p%40ss@h/db", "postgres://u:xxxxx@h/db"},
		{"postgres://u:pa/ss@h/db", "postgres://u:xxxxx@h/db"},
		{"host=db user=orosync password=s3cret dbname=mercato", "host=db user=orosync password=xxxxx dbname=mercato"},
		{"host=db password='s3 cret' dbname=mercato", "host=db password=xxxxx dbname=mercato"},
		{"host=db sslpassword=s3cret", "host=db sslpassword=xxxxx"},
		{"nats://app:s3cret@nats-1:4222,nats://app:s3cret@nats-2:4222", "nats://app:xxxxx@nats-1:4222,nats://app:xxxxx@nats-2:4222"},
		{"nats://s3cr3ttoken@nats-1:4222", "nats://xxxxx@nats-1:4222"},
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"https://crm.example.com/api", "https://crm.example.com/api"},
		{"https://user:s3cret@crm.example.com/api", "https://user:xxxxx@crm.example.com/api"},
		{"postgres://u:a,b@h/db", "postgres://u:xxxxx@h/db"},
		{"nats://a:p,q@n1:4222,nats://a:p,q@n2:4222", "nats://a:xxxxx@n1:4222,nats://a:xxxxx@n2:4222"},
		{"", ""},
	} {
		if got := URL(c.in); got != c.want {
			t.Errorf("URL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzURLNeverShowsThePassword: the result does not depend on the password, so nothing of it is left.
func FuzzURLNeverShowsThePassword(f *testing.F) {
	f.Add("postgres", "orosync", "s3cret", "db:5432")
	f.Add("nats", "app", "p@ss/word", "nats-1:4222")
	f.Add("postgresql", "u", "a b:c", "h")
	f.Fuzz(func(t *testing.T, scheme, user, password, host string) {
		with := func(pw string) string {
			u := url.URL{Scheme: "x" + scheme, User: url.UserPassword(user, pw), Host: host, Path: "/db"}
			return u.String()
		}
		parsed, err := url.Parse(with(password))
		if err != nil || parsed.User.String() != url.UserPassword(user, password).String() {
			t.Skip() // not one URL whose user and password read back as written
		}
		if a, b := URL(with(password)), URL(with("other")); a != b {
			t.Fatalf("URL(%q) = %q but with another password %q", with(password), a, b)
		}
	})
}
