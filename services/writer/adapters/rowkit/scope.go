// Package rowkit is the writer's row and byte kit, pure and without I/O: deterministic ids, Mercato's column
// encryption, the JSON of snapshots, events and outbox rows, and the array parameters of the unnest statements.
// Each hand-written encoder is tested (and fuzzed) against the reflection-based one it replaces.
package rowkit

import "github.com/google/uuid"

// Scope is the Mercato tenant and organization an orosync connection writes into.
type Scope struct {
	TenantID       uuid.UUID
	OrganizationID uuid.UUID
	// DEK, when set, is the tenant's data encryption key (base64 of 32 bytes, see DeriveTenantDEK): the columns
	// Mercato encrypts are then written in its format (reference §1.8). Empty: plaintext.
	DEK string
	// Pepper keys the lookup hashes of the scope's Mercato (Keys.Pepper; empty: the legacy unkeyed hash), with which
	// its users are found by email (auth users.email_hash).
	Pepper string
}
