package domain

import (
	"net/mail"
	"testing"
)

func netMailAddress(s string) bool {
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Address == s
}

func TestValidAddressIsNetMail(t *testing.T) {
	for _, s := range []string{"a@b", "zoe1@example.com", "Zoe.L@Example.COM", "a.b.c@d.e", "a+tag@x.io", "o'neil@x.ie",
		"", "@", "a@", "@b", "a@@b", ".a@b", "a.@b", "a..b@c", "a@.b", "a@b.", "a@b..c", "a b@c", "a@b c", " a@b",
		"a@b ", "\"a\"@b", "a@[1.2.3.4]", "Zoë <z@x.pl>", "z@x.pl (Zoë)", "zoë@x.pl", "a@b@c", "a\x00@b", "a@b\n"} {
		if got, want := validAddress(s), netMailAddress(s); got != want {
			t.Errorf("validAddress(%q) = %v, net/mail says %v", s, got, want)
		}
	}
}

func FuzzValidAddressIsNetMail(f *testing.F) {
	for _, s := range []string{"zoe1@example.com", "a..b@c", "a@b.", "\"a\"@b", "a@[1.2.3.4]", "zoë@x.pl"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if plainAddress(s) && !netMailAddress(s) {
			t.Fatalf("plainAddress(%q) accepts what net/mail refuses", s)
		}
		if got, want := validAddress(s), netMailAddress(s); got != want {
			t.Fatalf("validAddress(%q) = %v, net/mail says %v", s, got, want)
		}
	})
}
