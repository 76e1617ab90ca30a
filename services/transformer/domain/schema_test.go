package domain

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/orosync/orosync/contracts/mapping"
	"github.com/orosync/orosync/services/transformer/mappings"
)

func TestEveryShippedMappingMatchesTheMappingSchemaInContracts(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(mapping.Schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mapping.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("mapping.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := mappings.Files.ReadDir(".")
	for _, e := range entries {
		b, _ := mappings.Files.ReadFile(e.Name())
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		js, _ := json.Marshal(v)
		inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(js))
		if err := s.Validate(inst); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
	}
	bad, _ := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(`{"version":"v2","types":{"contacts":{"aggregate":"customers.person","fields":[{"to":"x","from":"attributes.x","expr":"1"}]}}}`)))
	if s.Validate(bad) == nil {
		t.Error("a field with both from and expr passed the schema")
	}
}
