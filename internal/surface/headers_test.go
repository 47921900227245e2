package surface

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHeaderProblem takes its cases from the official conformance suite's
// http-invalid-tool-headers scenario (SEP-2243), and adds the valid shapes.
func TestHeaderProblem(t *testing.T) {
	t.Parallel()
	prop := func(typ, header string) string {
		return `{"type":"object","properties":{"p":{"type":"` + typ + `","x-mcp-header":"` + header + `"}}}`
	}
	tests := []struct {
		name, schema, want string
	}{
		{"no annotation", `{"type":"object","properties":{"p":{"type":"string"}}}`, ""},
		{"a string property", prop("string", "Region"), ""},
		{"integer and boolean properties, in nested properties", `{"type":"object","properties":{"a":{"type":"integer","x-mcp-header":"Priority"},"o":{"type":"object","properties":{"b":{"type":"boolean","x-mcp-header":"Verbose"}}}}}`, ""},
		{"an empty name", prop("string", ""), "non-empty string"},
		{"an object property", prop("object", "Data"), `type "object"`},
		{"an array property", prop("array", "Items"), `type "array"`},
		{"a null property", prop("null", "Nil"), `type "null"`},
		{"a number property", prop("number", "Score"), `type "number"`},
		{"a space", prop("string", "My Region"), "not an HTTP header name"},
		{"a colon", prop("string", "Region:Primary"), "not an HTTP header name"},
		{"a non-ASCII letter", prop("string", "Région"), "not an HTTP header name"},
		{"a control character", prop("string", "Region\\t1"), "not an HTTP header name"},
		{"the same name twice", `{"type":"object","properties":{"a":{"type":"string","x-mcp-header":"Region"},"b":{"type":"string","x-mcp-header":"Region"}}}`, "also declared at inputSchema.properties.a"},
		{"names that differ only in case", `{"type":"object","properties":{"a":{"type":"string","x-mcp-header":"MyField"},"b":{"type":"string","x-mcp-header":"myfield"}}}`, "case-insensitive"},
		{"under items", `{"type":"object","properties":{"l":{"type":"array","items":{"type":"string","x-mcp-header":"Item"}}}}`, "inputSchema.properties.l.items has an x-mcp-header"},
		{"under $defs", `{"type":"object","$defs":{"d":{"type":"string","x-mcp-header":"D"}}}`, "only on a property reached through properties alone"},
		{"on the schema itself", `{"type":"object","x-mcp-header":"Root"}`, "only on a property"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.True(t, json.Valid([]byte(tt.schema)), tt.schema)
			got := HeaderProblem(json.RawMessage(tt.schema))
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			assert.Contains(t, got, tt.want)
		})
	}
}
