package adapters

// SpanPublish names the poller's span of a record it publishes to ORO_RAW: the first span of the record's trace.
const SpanPublish = "orosync.poller publish"
