package domain

import "net/mail"

// validAddress reports whether s is exactly one bare RFC 5322 address, as mail.ParseAddress(s).Address == s.
// The common address (a dot-atom of ASCII atext on both sides of one @) is recognised by a byte loop, which is
// what net/mail would conclude for it without its allocations; anything else goes to net/mail.
// FuzzValidAddressIsNetMail holds the two together.
func validAddress(s string) bool {
	if plainAddress(s) {
		return true
	}
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Address == s
}

// plainAddress: local@domain, each a non-empty dot-atom (no leading, trailing or double dot) of ASCII atext.
func plainAddress(s string) bool {
	at := -1
	start := 0 // of the current atom
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '@':
			if at >= 0 || i == start || s[i-1] == '.' {
				return false
			}
			at, start = i, i+1
		case c == '.':
			if i == start || s[i-1] == '.' {
				return false
			}
		case !asciiAtext(c):
			return false
		}
	}
	return at > 0 && start < len(s) && s[len(s)-1] != '.'
}

// asciiAtext is RFC 5322 atext in ASCII: letters, digits and !#$%&'*+-/=?^_`{|}~.
func asciiAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '/', '=', '?', '^', '_', '`', '{', '|', '}', '~':
		return true
	}
	return false
}
