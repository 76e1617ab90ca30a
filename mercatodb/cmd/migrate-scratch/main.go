// Command migrate-scratch manages the throwaway database gen.sh generates the go-jet models from.
//
//	migrate-scratch [-server URL] [-db NAME]          drop NAME if present, create it, apply both
//	                                                  migration sets, print its URL on stdout
//	migrate-scratch [-server URL] [-db NAME] -drop    drop NAME if present
//
// -server defaults to $DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable;
// -db defaults to orosync_gen. Dev/test only: it recreates Open Mercato's tables, and it refuses
// database names that do not look like scratch databases (orosync_gen*, orosync_scratch*,
// orosync_test_*).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/orosync/orosync/mercatodb"
	"github.com/orosync/orosync/mercatodb/internal/pgadmin"
)

const defaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func main() {
	server := flag.String("server", cmp.Or(os.Getenv("DATABASE_URL"), defaultServerURL), "URL of any database on the target server")
	name := flag.String("db", "orosync_gen", "scratch database name")
	drop := flag.Bool("drop", false, "only drop the scratch database")
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *server, *name, *drop); err != nil {
		fmt.Fprintln(os.Stderr, "migrate-scratch:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, server, name string, dropOnly bool) (err error) {
	if !isScratchName(name) {
		return fmt.Errorf("refusing database %q: not a scratch name (orosync_gen*, orosync_scratch*, orosync_test_*)", name)
	}
	if err := pgadmin.DropDatabase(ctx, server, name); err != nil {
		return err
	}
	if dropOnly {
		return nil
	}
	url, err := pgadmin.WithDatabase(server, name)
	if err != nil {
		return err
	}
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
	fmt.Println(url)
	return nil
}

func isScratchName(name string) bool {
	for _, p := range []string{"orosync_gen", "orosync_scratch", "orosync_test_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
