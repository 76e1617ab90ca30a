package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// embeddedNATS starts an in-process NATS server with JetStream file storage under dataDir.
func embeddedNATS(dataDir string, port int) (*server.Server, string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, "", err
	}
	opts := &server.Options{ServerName: "orosync", Host: "127.0.0.1", Port: port, JetStream: true,
		StoreDir: filepath.Join(abs, "nats"), NoSigs: true, NoLog: true, MaxPayload: 8 << 20}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, "", fmt.Errorf("embedded nats: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		srv.Shutdown()
		return nil, "", fmt.Errorf("embedded nats on 127.0.0.1:%d did not start (port taken?)", port)
	}
	return srv, srv.ClientURL(), nil
}
