// Command migrate-scratch creates (if missing) the database named by its URL argument and applies
// both migration sets to it: Open Mercato's reference tables and orosync's own tables. gen.sh uses
// it to prepare the scratch database the go-jet models are generated from. Dev/test only: never
// point it at a real Mercato database (it would try to create Mercato's tables there).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/orosync/orosync/mercatodb"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: migrate-scratch <postgres-url>")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "migrate-scratch:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, url string) (err error) {
	if err := mercatodb.EnsureDatabase(ctx, url); err != nil {
		return err
	}
	db, err := mercatodb.OpenDB(url)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	if err := mercatodb.MigrateMercato(ctx, db); err != nil {
		return err
	}
	if err := mercatodb.MigrateOrosync(ctx, db); err != nil {
		return err
	}
	v, err := mercatodb.OrosyncStatus(ctx, db)
	if err != nil {
		return err
	}
	fmt.Printf("migrate-scratch: both migration sets applied (orosync schema version %d)\n", v)
	return nil
}
