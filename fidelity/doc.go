// Package fidelity is the Mercato fidelity suite (its tests): Oro's own API fixtures go through the shipped mapping
// and the writer into a real PostgreSQL, and every row of every table orosync writes is checked against the rules
// Mercato's own create and update commands and validators apply (customers/data/validators.ts, commands/*.ts,
// entities/lib/helpers.ts): display names, normalized emails, dictionary values, jsonb shapes, custom field columns
// and definitions, external ids. One file per table family; fixtures_test.go prepares the database.
package fidelity
