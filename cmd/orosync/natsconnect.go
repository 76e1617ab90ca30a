package main

import (
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orosync/orosync/contracts/natsconn"
	"github.com/orosync/orosync/events/redact"
)

// connectJS connects to natsURL as name, with the inbox prefix the URL's user may use, and opens JetStream; closeNC
// closes the connection.
func connectJS(natsURL, name string) (js jetstream.JetStream, closeNC func(), err error) {
	nc, err := nats.Connect(natsURL, nats.Name(name), natsconn.Inbox(natsURL))
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to NATS at %s: %w", redact.URL(natsURL), err)
	}
	if js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return js, nc.Close, nil
}
