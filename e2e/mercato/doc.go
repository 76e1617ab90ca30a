// Package mercato is the end-to-end suite against a real Open Mercato with orosync's module installed: it runs
// orosync with the bundled simulator into Mercato's database and checks everything through Mercato's HTTP API, as
// a Mercato admin would. Its tests are behind the mercatoe2e build tag; `make mercato-e2e` sets Mercato up and
// runs them (scripts/mercato-e2e/run.sh).
package mercato
