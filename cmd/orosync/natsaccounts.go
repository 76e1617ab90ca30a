package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/orosync/orosync/contracts"
	"github.com/orosync/orosync/events"
)

// cmdNATSAccounts prints the nats-server accounts block of orosync's users (contracts.Users) for the connections
// of a tenants file or of --tenants.
func cmdNATSAccounts(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommand("nats-accounts", `orosync nats-accounts [--config FILE | --tenants a,b]

Prints the nats-server configuration of orosync's NATS users with least privilege: admin, transformer, writer,
mercato, and a poller and a reconciler per connection (poller-<name>, reconciler-<name>), each allowed only its
service's subjects, consumers, keys and inboxes. Include it from every node's configuration
(deploy/nats/node.conf.template); the passwords are read from the server's environment (OROSYNC_<USER>_PASSWORD).`, stdout, stderr)
	cfgFile := fs.String("config", env("OROSYNC_CONFIG", ""), "tenants file (YAML or JSON) whose connections get users (OROSYNC_CONFIG)")
	list := fs.String("tenants", "", "comma-separated connection names, instead of --config")
	if err := fs.parse(args); err != nil {
		return err
	}
	var tenants []string
	switch {
	case *cfgFile != "" && *list != "":
		fmt.Fprintln(stderr, "--config and --tenants exclude each other")
		return errUsage
	case *cfgFile != "":
		conns, err := loadTenants(*cfgFile, func(string) (string, bool) { return "unused", true }, nil)
		if err != nil {
			return err
		}
		for _, c := range conns {
			tenants = append(tenants, c.Name)
		}
	default:
		for _, t := range strings.Split(*list, ",") {
			if t = strings.TrimSpace(t); t != "" {
				tenants = append(tenants, t)
			}
		}
	}
	if len(tenants) == 0 {
		fmt.Fprintln(stderr, "name the connections: --config FILE or --tenants a,b")
		return errUsage
	}
	for _, t := range tenants {
		if !events.ValidToken(t) || strings.HasPrefix(t, "_") {
			return fmt.Errorf("connection %q: must be a subject token (letters, digits, _ and -) not starting with _", t)
		}
	}
	_, err := io.WriteString(stdout, contracts.AccountsConf(contracts.Users(tenants)))
	return err
}
