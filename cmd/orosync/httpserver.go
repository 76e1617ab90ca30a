package main

import (
	"net/http"
	"time"
)

// httpTimeouts bound what one client may hold of an HTTP server orosync runs (webhooks, metrics, the simulator):
// its request's headers, its whole request (a body trickled a byte a second), the writing of the response, and an
// idle keep-alive connection.
type httpTimeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// orDefault is t, or when t is zero the timeouts orosync's servers use: a webhook's body of at most 4 MiB and a
// page of metrics both take well under 30 seconds.
func (t httpTimeouts) orDefault() httpTimeouts {
	if t == (httpTimeouts{}) {
		return httpTimeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 30 * time.Second, Idle: 2 * time.Minute}
	}
	return t
}

// server serves h within t.
func (t httpTimeouts) server(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle}
}
