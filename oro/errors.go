package oro

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrorObject is one member of a JSON:API error document's "errors" array.
// Oro sends status as a string ("400"); a number is accepted too.
type ErrorObject struct {
	Status string
	Code   string
	Title  string
	Detail string
	Source struct {
		Pointer   string
		Parameter string
	}
}

// String renders the error object as "title: detail (source)".
func (e ErrorObject) String() string {
	var b strings.Builder
	b.WriteString(e.Title)
	if e.Detail != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Detail)
	}
	if e.Code != "" {
		b.WriteString(" [code " + e.Code + "]")
	}
	switch {
	case e.Source.Pointer != "":
		b.WriteString(" (source pointer " + e.Source.Pointer + ")")
	case e.Source.Parameter != "":
		b.WriteString(" (source parameter " + e.Source.Parameter + ")")
	}
	return b.String()
}

// APIError is a non-2xx answer from Oro's API.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Errors holds the decoded error document; empty when the body was
	// empty (Oro's 401) or not a JSON:API error document.
	Errors []ErrorObject
	// RetryAfter is the parsed Retry-After header of a 429 or 503 answer
	// (zero when absent or unparsable).
	RetryAfter time.Duration
	// Body is the response body as received (bounded in size), with any
	// occurrence of the client secret or access token masked.
	Body []byte
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("oro API: ")
	b.WriteString(strconv.Itoa(e.Status))
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	switch {
	case len(e.Errors) > 0:
		for i, eo := range e.Errors {
			if i == 0 {
				b.WriteString(": ")
			} else {
				b.WriteString("; ")
			}
			b.WriteString(eo.String())
		}
	case len(e.Body) > 0:
		b.WriteString(": body: ")
		b.WriteString(snippet(e.Body, 200))
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after " + e.RetryAfter.String() + ")")
	}
	return b.String()
}

// IsNotFound reports whether err is (or wraps) an *APIError with status 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// newAPIError builds the error for a non-2xx response whose body has been
// read (and secrets masked) already.
func newAPIError(status int, h http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{Status: status, Body: body, Errors: decodeErrorObjects(body)}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		e.RetryAfter = parseRetryAfter(h.Get("Retry-After"), h.Get("Date"), now)
	}
	return e
}

// decodeErrorObjects decodes {"errors":[...]} leniently: anything that is
// not an error document yields nil.
func decodeErrorObjects(body []byte) []ErrorObject {
	if kindOf(body) != "object" {
		return nil
	}
	var doc struct {
		Errors []json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return nil
	}
	var out []ErrorObject
	for _, raw := range doc.Errors {
		var m map[string]json.RawMessage
		if kindOf(raw) != "object" || json.Unmarshal(raw, &m) != nil {
			continue
		}
		var eo ErrorObject
		eo.Status = scalar(m["status"])
		eo.Code = scalar(m["code"])
		eo.Title = scalar(m["title"])
		eo.Detail = scalar(m["detail"])
		var src map[string]json.RawMessage
		if kindOf(m["source"]) == "object" && json.Unmarshal(m["source"], &src) == nil {
			eo.Source.Pointer = scalar(src["pointer"])
			eo.Source.Parameter = scalar(src["parameter"])
		}
		out = append(out, eo)
	}
	return out
}

// scalar renders a JSON string or number as a Go string ("" otherwise).
func scalar(raw json.RawMessage) string {
	switch kindOf(raw) {
	case "string":
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case "number":
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String()
		}
	}
	return ""
}

// parseRetryAfter reads a Retry-After value given in seconds or as an HTTP
// date. A date is measured against the response's Date header when that
// parses (so clock skew does not matter), else against now.
func parseRetryAfter(v, date string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		const maxSecs = int64(1<<63-1) / int64(time.Second)
		if secs > maxSecs {
			secs = maxSecs
		}
		return time.Duration(secs) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d, err := http.ParseTime(date); err == nil {
		now = d
	}
	if d := at.Sub(now); d > 0 {
		return d
	}
	return 0
}

// snippet shortens a body for an error message: one line, at most max bytes.
func snippet(b []byte, max int) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// MaxPageSize reports the largest page[size] Oro accepts when err is its 400 "The value should be less than or
// equals to N." on page[size] (oro_api.max_entities), so a caller can adapt instead of failing.
func MaxPageSize(err error) (int, bool) {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		return 0, false
	}
	for _, eo := range ae.Errors {
		if eo.Source.Parameter != "page[size]" {
			continue
		}
		const prefix = "less than or equals to "
		i := strings.Index(eo.Detail, prefix)
		if i < 0 {
			continue
		}
		n, err := strconv.Atoi(strings.TrimRight(eo.Detail[i+len(prefix):], ". "))
		if err == nil && n > 0 {
			return n, true
		}
	}
	return 0, false
}
