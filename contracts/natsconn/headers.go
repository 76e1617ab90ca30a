package natsconn

import "github.com/nats-io/nats.go/jetstream"

// PlaceHeader says whether a header is one JetStream's direct get adds to a stored message (its stream, sequence,
// subject and time), which is not part of the message as published.
func PlaceHeader(name string) bool {
	switch name {
	case jetstream.StreamHeader, jetstream.SequenceHeader, jetstream.SubjectHeader, jetstream.TimeStampHeaer,
		jetstream.LastSequenceHeader, "Nats-Num-Pending":
		return true
	}
	return false
}
