package domain

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxURL is the longest URL Mercato's validators take (customers/data/validators.ts clearableUrlSchema: max 300).
const maxURL = 300

// profileURL makes an Oro social profile value (Oro keeps what the user typed: a URL, a URL without its scheme,
// or a handle such as "@ada" or "ada-lovelace") a URL Mercato's validator accepts (z.string().url(): an absolute
// URL, here http or https with a host), the handle appended to base. Anything else is nil: no URL can be made of
// it, and the mapping keeps the value as a custom field instead.
func profileURL(v any, base string) any {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil
	case hasScheme(s):
	case strings.Contains(s, ".") && strings.Contains(s, "/") || strings.HasPrefix(strings.ToLower(s), "www."):
		s = "https://" + s // linkedin.com/in/ada, www.twitter.com/ada
	default:
		handle := strings.TrimPrefix(s, "@")
		if !validHandle(handle) {
			return nil
		}
		s = base + handle
	}
	if !validWebURL(s) {
		return nil
	}
	return s
}

func hasScheme(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// validHandle is a profile handle: letters, digits, '_', '-' and '.', as LinkedIn and Twitter allow them.
func validHandle(h string) bool {
	if h == "" || len(h) > 100 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// validWebURL is an http(s) URL with a host name, no white space, at most maxURL characters.
func validWebURL(s string) bool {
	if utf8.RuneCountInString(s) > maxURL || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return false
	}
	host := u.Hostname()
	return host != "" && strings.Contains(host, ".") && !strings.HasPrefix(host, ".") && !strings.HasSuffix(host, ".")
}
