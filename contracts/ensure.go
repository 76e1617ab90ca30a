package contracts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Options adjust the contract definitions to a deployment without editing them.
type Options struct {
	// Replicas overrides num_replicas of streams and buckets (1 embedded, 3 on a cluster); 0 keeps the files' value.
	Replicas int
}

// DriftError says a stream or consumer exists with a configuration other than the contract's. orosync never
// changes it silently: the operator decides (nats stream edit, or fix the contract).
type DriftError struct {
	Kind, Name string
	Diffs      []string
}

func (e *DriftError) Error() string {
	return fmt.Sprintf("%s %s exists with a different configuration than contracts/ defines; refusing to start "+
		"(apply the change deliberately with `nats %s edit`):\n  %s", e.Kind, e.Name, e.Kind, strings.Join(e.Diffs, "\n  "))
}

// Ensure creates every stream, durable consumer and key-value bucket the contracts define when missing, and
// returns a *DriftError (joined) for each one present with a different configuration.
func Ensure(ctx context.Context, js jetstream.JetStream, opts Options) error {
	streams, err := Streams()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(streams))
	for n := range streams {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		cfg := streams[n]
		if opts.Replicas > 0 {
			cfg.Replicas = opts.Replicas
		}
		if err := ensureStream(ctx, js, cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	consumers, err := Consumers()
	if err != nil {
		return err
	}
	for stream, list := range consumers {
		for _, c := range list {
			if err := ensureConsumer(ctx, js, stream, c); err != nil {
				errs = append(errs, err)
			}
		}
	}
	kv, err := KeyValue("OROSYNC_CURSORS")
	if err != nil {
		return err
	}
	if opts.Replicas > 0 {
		kv.Replicas = opts.Replicas
	}
	if _, err := js.KeyValue(ctx, kv.Bucket); errors.Is(err, jetstream.ErrBucketNotFound) {
		if _, err := js.CreateKeyValue(ctx, kv); err != nil {
			errs = append(errs, fmt.Errorf("creating kv bucket %s: %w", kv.Bucket, err))
		}
	} else if err != nil {
		errs = append(errs, fmt.Errorf("looking up kv bucket %s: %w", kv.Bucket, err))
	}
	return errors.Join(errs...)
}

func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig) error {
	s, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err := js.CreateStream(ctx, want); err != nil {
			return fmt.Errorf("creating stream %s: %w", want.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("looking up stream %s: %w", want.Name, err)
	}
	keys, err := definedKeys("streams/" + want.Name + ".json")
	if err != nil {
		return err
	}
	keys["num_replicas"] = true
	if diffs := Diff(want, s.CachedInfo().Config, keys); len(diffs) > 0 {
		return &DriftError{Kind: "stream", Name: want.Name, Diffs: diffs}
	}
	return nil
}

func ensureConsumer(ctx context.Context, js jetstream.JetStream, stream string, want jetstream.ConsumerConfig) error {
	c, err := js.Consumer(ctx, stream, want.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		if _, err := js.CreateConsumer(ctx, stream, want); err != nil {
			return fmt.Errorf("creating consumer %s/%s: %w", stream, want.Durable, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("looking up consumer %s/%s: %w", stream, want.Durable, err)
	}
	keys, err := definedKeys("consumers/" + stream + "/" + want.Durable + ".json")
	if err != nil {
		return err
	}
	if diffs := Diff(want, c.CachedInfo().Config, keys); len(diffs) > 0 {
		return &DriftError{Kind: "consumer", Name: stream + "/" + want.Durable, Diffs: diffs}
	}
	return nil
}

// Diff compares the given fields of the contract with what the server has, as `field: server X, contract Y`
// lines. Only fields the contract file sets are compared: the rest are server defaults.
func Diff(want, have any, keys map[string]bool) []string {
	w, h := toMap(want), toMap(have)
	var diffs []string
	for k, wv := range w {
		if !keys[k] || k == "description" {
			continue
		}
		if hv, ok := h[k]; !ok || !reflect.DeepEqual(wv, hv) {
			diffs = append(diffs, fmt.Sprintf("%s: server %s, contract %s", k, js(h[k]), js(wv)))
		}
	}
	sort.Strings(diffs)
	return diffs
}

func toMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	return m
}

func js(v any) string {
	if v == nil {
		return "(unset)"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func definedKeys(file string) (map[string]bool, error) {
	b, err := files.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("contracts: %w", err)
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("contracts: %s: %w", file, err)
	}
	keys := make(map[string]bool, len(m))
	for k := range m {
		keys[k] = true
	}
	return keys, nil
}
