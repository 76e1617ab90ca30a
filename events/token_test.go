package events

import (
	"regexp"
	"testing"
)

func TestValidTokenIsTheSubjectTokenCharacterClass(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	for _, s := range []string{"", "a", "Zz09_-", "acme", "contacts", "42", "a.b", "a b", "a*", ">", "é", "a\n", "\x00",
		"-", "_", "a-b_c", "a/b", "a\u0130"} {
		if got, want := ValidToken(s), re.MatchString(s); got != want {
			t.Errorf("ValidToken(%q) = %v, want %v", s, got, want)
		}
	}
	for c := range 256 {
		s := string([]byte{byte(c)})
		if got, want := ValidToken(s), re.MatchString(s); got != want {
			t.Errorf("ValidToken(%q) = %v, want %v", s, got, want)
		}
	}
}
