// Package contracts holds orosync's published contracts as data: the AsyncAPI document, one JSON Schema per
// message type, and the JetStream stream, consumer and key-value definitions (the same JSON files an operator
// applies with `nats stream add --config FILE`). They are compiled in (go:embed): Ensure creates what is missing
// from them at start-up and refuses to start on a difference, and the services read their consumers' settings
// here (Consumer); nothing is defined twice.
package contracts

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

//go:embed asyncapi.yaml schemas/*.json streams/*.json consumers/*/*.json kv/*.json
var files embed.FS

// FS exposes the contract files (read-only).
func FS() fs.FS { return files }

// Streams returns every stream definition, by name.
func Streams() (map[string]jetstream.StreamConfig, error) {
	out := map[string]jetstream.StreamConfig{}
	err := eachJSON("streams", func(name string, b []byte) error {
		var cfg jetstream.StreamConfig
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("stream file %s: %w", name, err)
		}
		out[cfg.Name] = cfg
		return nil
	})
	return out, err
}

// Stream returns one stream definition.
func Stream(name string) (jetstream.StreamConfig, error) {
	all, err := Streams()
	if err != nil {
		return jetstream.StreamConfig{}, err
	}
	cfg, ok := all[name]
	if !ok {
		return jetstream.StreamConfig{}, fmt.Errorf("contracts: no stream %q", name)
	}
	return cfg, nil
}

// Consumer returns the durable consumer definition of stream/name.
func Consumer(stream, name string) (jetstream.ConsumerConfig, error) {
	p := path.Join("consumers", stream, name+".json")
	b, err := files.ReadFile(p)
	if err != nil {
		return jetstream.ConsumerConfig{}, fmt.Errorf("contracts: consumer %s/%s: %w", stream, name, err)
	}
	var cfg jetstream.ConsumerConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return jetstream.ConsumerConfig{}, fmt.Errorf("contracts: consumer file %s: %w", p, err)
	}
	return cfg, nil
}

// Consumers lists every consumer definition as stream → configs.
func Consumers() (map[string][]jetstream.ConsumerConfig, error) {
	out := map[string][]jetstream.ConsumerConfig{}
	dirs, err := fs.ReadDir(files, "consumers")
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		entries, err := fs.ReadDir(files, path.Join("consumers", d.Name()))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			cfg, err := Consumer(d.Name(), strings.TrimSuffix(e.Name(), ".json"))
			if err != nil {
				return nil, err
			}
			out[d.Name()] = append(out[d.Name()], cfg)
		}
	}
	return out, nil
}

// KeyValue returns a key-value bucket definition.
func KeyValue(bucket string) (jetstream.KeyValueConfig, error) {
	p := path.Join("kv", bucket+".json")
	b, err := files.ReadFile(p)
	if err != nil {
		return jetstream.KeyValueConfig{}, fmt.Errorf("contracts: kv bucket %s: %w", bucket, err)
	}
	var cfg jetstream.KeyValueConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return jetstream.KeyValueConfig{}, fmt.Errorf("contracts: kv file %s: %w", p, err)
	}
	return cfg, nil
}

// Schema returns the JSON Schema document of a message type (file name without .schema.json).
func Schema(name string) ([]byte, error) {
	return files.ReadFile(path.Join("schemas", name+".schema.json"))
}

// SchemaNames lists the message schemas (excluding shared definitions).
func SchemaNames() []string {
	entries, _ := fs.ReadDir(files, "schemas")
	var names []string
	for _, e := range entries {
		n := strings.TrimSuffix(e.Name(), ".schema.json")
		if n != "common" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

func eachJSON(dir string, fn func(name string, b []byte) error) error {
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := files.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		if err := fn(e.Name(), b); err != nil {
			return err
		}
	}
	return nil
}
