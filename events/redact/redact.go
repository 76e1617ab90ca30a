// Package redact removes passwords from connection strings before they are printed or logged.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces a secret, as net/url's URL.Redacted does.
const Mask = "xxxxx"

var (
	// keyword DSN (libpq's `host=h password=secret`), quoted or not
	dsnPassword = regexp.MustCompile(`(?i)\b((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']\S*)`)
	// a URL net/url cannot parse: scheme://user:password@ up to the first @
	rawUserinfo = regexp.MustCompile(`(://[^:@/\s]*):[^@\s]*@`)
)

// URL returns s with every password replaced by xxxxx: the password of a URL (postgres://u:xxxxx@h/db), of each
// URL of a comma-separated list (nats://u:xxxxx@a,nats://u:xxxxx@b), a NATS token (nats://xxxxx@h: a NATS URL's
// user without a password is a token), password and sslpassword query parameters, and password= in a keyword
// DSN (host=h password=xxxxx). Anything else is returned as it is.
func URL(s string) string {
	if !strings.Contains(s, "://") {
		return dsnPassword.ReplaceAllString(s, "${1}"+Mask)
	}
	var urls []string // a comma starts another URL only when one follows it: a password may hold commas
	for _, p := range strings.Split(s, ",") {
		if len(urls) > 0 && !strings.Contains(p, "://") {
			urls[len(urls)-1] += "," + p
		} else {
			urls = append(urls, p)
		}
	}
	for i, u := range urls {
		urls[i] = oneURL(u)
	}
	return strings.Join(urls, ",")
}

func oneURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme == "" || u.Host == "" && u.User == nil {
		return rawUserinfo.ReplaceAllString(s, "${1}:"+Mask+"@")
	}
	changed := false
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User, changed = url.UserPassword(u.User.Username(), Mask), true
		} else if isNATS(u.Scheme) && u.User.Username() != "" {
			u.User, changed = url.User(Mask), true
		}
	}
	if q := u.Query(); len(q) > 0 {
		inQuery := false
		for k := range q {
			if strings.EqualFold(k, "password") || strings.EqualFold(k, "sslpassword") {
				q.Set(k, Mask)
				inQuery = true
			}
		}
		if inQuery {
			u.RawQuery, changed = q.Encode(), true
		}
	}
	if !changed {
		return s
	}
	return u.String()
}

func isNATS(scheme string) bool {
	switch strings.ToLower(scheme) {
	case "nats", "tls", "ws", "wss":
		return true
	}
	return false
}
