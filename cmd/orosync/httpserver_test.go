package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orosync/orosync/contracts/jstest"
	"github.com/orosync/orosync/orosim"
)

// shortTimeouts keep the test quick; the defaults are seconds to minutes.
var shortTimeouts = httpTimeouts{ReadHeader: 300 * time.Millisecond, Read: 400 * time.Millisecond,
	Write: 400 * time.Millisecond, Idle: 400 * time.Millisecond}

// slowClientBound is how long a server may let a slow or idle client hold its connection in this test.
const slowClientBound = 5 * time.Second

func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func dialWhenUp(t *testing.T, addr string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not accept connections: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closedBy reports when the server answers or closes c, or false after slowClientBound.
func closedBy(c net.Conn, r io.Reader) <-chan bool {
	done := make(chan bool, 1)
	go func() {
		_ = c.SetReadDeadline(time.Now().Add(slowClientBound))
		_, err := r.Read(make([]byte, 1))
		var ne net.Error
		done <- !(errors.As(err, &ne) && ne.Timeout())
	}()
	return done
}

func TestEveryHTTPServerCutsOffATricklingOrIdleClient(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	servers := map[string]struct {
		addr    string
		request string // a complete request
	}{}

	webhooks := freeAddr(t)
	t.Setenv("OROSYNC_WEBHOOK_ADDR", webhooks)
	t.Setenv("OROSYNC_WEBHOOK_SECRET", "hook-secret")
	ns := jstest.Start(t)
	p := pipeline{NatsURL: ns.URL, Tenant: "acme", Types: []string{"contacts"}, HTTPTimeouts: shortTimeouts,
		Log: slog.New(slog.DiscardHandler)}
	go func() { _ = p.serveWebhooks(ctx) }()
	servers["webhooks"] = struct{ addr, request string }{webhooks,
		"POST /webhooks/acme HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"}

	metricsAddr := freeAddr(t)
	t.Setenv("OROSYNC_METRICS_ADDR", metricsAddr)
	_, stopMetrics, err := newMetricsServer(shortTimeouts)
	if err != nil {
		t.Fatal(err)
	}
	defer stopMetrics()
	servers["metrics"] = struct{ addr, request string }{metricsAddr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"}

	_, simURL, stopSim, err := startSim(ctx, "127.0.0.1:0", orosim.Config{Contacts: 1}, shortTimeouts)
	if err != nil {
		t.Fatal(err)
	}
	defer stopSim()
	servers["simulator"] = struct{ addr, request string }{strings.TrimPrefix(simURL, "http://"),
		"GET /api/contacts HTTP/1.1\r\nHost: x\r\n\r\n"}

	for name, s := range servers {
		t.Run(name+": a request trickled a byte at a time", func(t *testing.T) {
			c := dialWhenUp(t, s.addr)
			defer c.Close()
			closed := closedBy(c, c)
			for i := 0; ; i++ {
				select {
				case ok := <-closed:
					if !ok {
						t.Fatalf("the connection was held for %s", slowClientBound)
					}
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.Write([]byte{s.request[i%len(s.request)]}); err != nil {
					return // closed by the server
				}
			}
		})
		t.Run(name+": an idle keep-alive connection", func(t *testing.T) {
			c := dialWhenUp(t, s.addr)
			defer c.Close()
			if _, err := c.Write([]byte(s.request)); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if ok := <-closedBy(c, br); !ok {
				t.Fatalf("an idle connection was kept for %s", slowClientBound)
			}
		})
	}
}
