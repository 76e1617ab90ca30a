// Package events holds the Go types of every message orosync puts on NATS JetStream, the subjects they travel on,
// their CloudEvents headers (NATS protocol binding, binary mode) and their deterministic message ids.
//
// The JSON Schemas in contracts/schemas describe the same messages for non-Go consumers; a test in the contracts
// module validates an example of every type here against its schema, so the two cannot drift apart.
package events
