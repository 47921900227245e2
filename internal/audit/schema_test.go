package audit

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompileSchemaRefusesEndlessRefLoops(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, schema string
		// loop is part of the error, or empty when the schema compiles.
		loop string
		// opaque is part of compiled.opaque.
		opaque string
	}{
		{"a root that refers to itself loops", `{"type":"object","$ref":"#"}`, `$ref "#" leads back to itself`, ""},
		{"a loop through an anchor and anyOf loops", `{"type":"object","$defs":{"A":{"$anchor":"a","anyOf":[{"type":"string"},{"$ref":"#a"}]}},"allOf":[{"$ref":"#/$defs/A"}]}`, `$ref "#a" leads back`, ""},
		{"a loop through not and if loops", `{"type":"object","$defs":{"A":{"not":{"if":{"$ref":"#/$defs/A"}}}}}`, `$ref "#/$defs/A" leads back`, ""},
		{"recursion through properties descends, so it ends", `{"type":"object","properties":{"child":{"$ref":"#"}}}`, "", ""},
		{"recursion through items descends, so it ends", `{"type":"object","$defs":{"L":{"type":"array","items":{"$ref":"#/$defs/L"}}},"properties":{"l":{"$ref":"#/$defs/L"}}}`, "", ""},
		{"draft-07 ignores what sits beside $ref", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","definitions":{"A":{"type":"object"}},"$ref":"#/definitions/A","allOf":[{"$ref":"#"}]}`, "", ""},
		{"a ref through the schema's own $id is followed", `{"$id":"https://example.com/s","type":"object","$defs":{"A":{"allOf":[{"$ref":"https://example.com/s#/$defs/A"}]}}}`, "leads back", ""},
		{"a nested $id is not followed", `{"type":"object","$defs":{"A":{"$id":"https://example.com/a","type":"string"}},"properties":{"a":{"$ref":"https://example.com/a"}}}`, "", `$ref "https://example.com/a" is not followed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := compileSchema(json.RawMessage(tt.schema))
			if tt.loop != "" {
				assert.ErrorContains(t, err, tt.loop)
				return
			}
			require.NoError(t, err)
			if tt.opaque != "" {
				assert.Contains(t, c.opaque, tt.opaque)
				_, err := validArguments(c)
				assert.ErrorContains(t, err, tt.opaque, "no arguments from an opaque schema")
				return
			}
			assert.Empty(t, c.opaque)
		})
	}
}

func TestGuardTurnsAPanicIntoAnError(t *testing.T) {
	t.Parallel()
	assert.NoError(t, guard(func() {}))
	assert.ErrorContains(t, guard(func() { panic("boom") }), "the audit failed on it: boom")
}
