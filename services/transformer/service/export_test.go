package service

// SetGCPercent lets the external benchmarks run with the service's garbage-collector setting.
var SetGCPercent = gcPercent
