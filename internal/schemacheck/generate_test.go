package schemacheck

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goEverythingJSONSchemaTool is the input schema of go-sdk's
// json_schema_2020_12_tool: nothing is required at the top, but allOf/anyOf
// and if/then/else require phone or email.
const goEverythingJSONSchemaTool = `{
	"$schema": "https://json-schema.org/draft/2020-12/schema",
	"type": "object",
	"$defs": {"address": {"type": "object", "properties": {"street": {"type": "string"}}}},
	"properties": {
		"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"},
		"contactMethod": {"type": "string", "enum": ["phone", "email"]},
		"phone": {"type": "string"}, "email": {"type": "string"}
	},
	"allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
	"if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
	"then": {"required": ["phone"]},
	"else": {"required": ["email"]},
	"additionalProperties": false
}`

func TestArguments(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		want   map[string]any
	}{
		{"only required properties", `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["a"]}`, map[string]any{"a": "mcp-test-mcp"}},
		{"default comes first", `{"type":"object","properties":{"n":{"type":"integer","default":7,"examples":[3],"enum":[1,7]}},"required":["n"]}`, map[string]any{"n": float64(7)}},
		{"then examples", `{"type":"object","properties":{"s":{"type":"string","examples":["x@y"]}},"required":["s"]}`, map[string]any{"s": "x@y"}},
		{"then enum", `{"type":"object","properties":{"u":{"enum":["c","f"]}},"required":["u"]}`, map[string]any{"u": "c"}},
		{"numbers honour their bounds", `{"type":"object","properties":{
			"i":{"type":"integer","minimum":5},"x":{"type":"integer","exclusiveMinimum":5},
			"n":{"type":"number","maximum":-2},"m":{"type":"integer","minimum":1,"multipleOf":5}},"required":["i","x","n","m"]}`,
			map[string]any{"i": float64(5), "x": float64(6), "n": float64(-2), "m": float64(5)}},
		{"strings honour format and length", `{"type":"object","properties":{
			"e":{"type":"string","format":"email"},"d":{"type":"string","format":"date-time"},
			"l":{"type":"string","minLength":20},"s":{"type":"string","maxLength":3}},"required":["e","d","l","s"]}`,
			map[string]any{"e": "test@example.com", "d": "2000-01-01T00:00:00Z", "l": "mcp-test-mcpxxxxxxxx", "s": "mcp"}},
		{"a pattern picks a candidate that fits", `{"type":"object","properties":{"p":{"type":"string","pattern":"^[0-9]+$"}},"required":["p"]}`, map[string]any{"p": "1"}},
		{"nested objects, arrays, booleans and null types", `{"type":"object","properties":{
			"o":{"type":"object","properties":{"k":{"type":"boolean"}},"required":["k"]},
			"a":{"type":"array","items":{"type":"string"},"minItems":2},
			"t":{"type":["null","integer"]}},"required":["o","a","t"]}`,
			map[string]any{"o": map[string]any{"k": false}, "a": []any{"mcp-test-mcp", "mcp-test-mcp"}, "t": float64(1)}},
		{"$ref is followed", `{"type":"object","$defs":{"c":{"type":"string","const":"k"}},"properties":{"r":{"$ref":"#/$defs/c"}},"required":["r"]}`, map[string]any{"r": "k"}},
		{"allOf, anyOf and if/then/else are honoured", goEverythingJSONSchemaTool, map[string]any{"phone": "mcp-test-mcp", "email": "mcp-test-mcp"}},
		{"no schema means no arguments", `null`, map[string]any{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var schema any
			require.NoError(t, json.Unmarshal([]byte(tc.schema), &schema))
			got, err := Arguments(schema)
			require.NoError(t, err)
			assert.Equal(t, tc.want, decoded(t, got))
			if schema == nil {
				return
			}
			// What is generated must satisfy the schema.
			var s jsonschema.Schema
			require.NoError(t, json.Unmarshal([]byte(tc.schema), &s))
			r, err := s.Resolve(nil)
			require.NoError(t, err)
			assert.NoError(t, r.Validate(decoded(t, got)))
		})
	}
}

// hostileSchemas are input schemas that a naive argument generator panics
// on, overflows its stack on, or allocates gigabytes for, by name
// (testdata/schemas/hostile.json, shared with check's tests).
func hostileSchemas(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "schemas", "hostile.json"))
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func TestArgumentsBoundsHostileSchemas(t *testing.T) {
	schemas := hostileSchemas(t)
	// unmet is the part of the schema each one's arguments cannot meet,
	// empty when they meet it all, or wholeSchema when they fail only the
	// validation against the whole schema (no string is at most -1 long).
	const wholeSchema = "(whole schema)"
	unmet := map[string]string{
		"negative_max_length": wholeSchema,
		"negative_min_items":  "",
		"huge_min_length":     "properties.s.minLength",
		"huge_min_items":      "properties.a.minItems",
		"self_all_of":         "properties.x",
		"self_any_of":         "properties.x",
		"branching_all_of":    "properties.x",
		"self_nested":         "properties.x" + strings.Repeat(".properties.n", maxDepth-1),
		"tiny_multiple_of":    "properties.n",
	}
	require.Len(t, schemas, len(unmet))
	gen := func(name string) map[string]any {
		t.Helper()
		args, err := Arguments(schemas[name])
		switch unmet[name] {
		case "":
			require.NoError(t, err, name)
		case wholeSchema:
			var u *UnsatisfiableError
			require.ErrorAs(t, err, &u, name)
			assert.Empty(t, u.Path)
			assert.Contains(t, u.Reason, "do not validate")
		default:
			var u *UnsatisfiableError
			require.ErrorAs(t, err, &u, name)
			assert.Equal(t, unmet[name], u.Path, "%s: %s", name, u.Reason)
		}
		b, err := json.Marshal(args)
		require.NoError(t, err, "the arguments can be sent")
		assert.Less(t, len(b), 1<<20, "%s: at most a few hundred KiB of arguments", name)
		return args
	}
	assert.Equal(t, "", gen("negative_max_length")["s"], "a negative maxLength is taken as 0, and said to fail")
	assert.Equal(t, []any{}, gen("negative_min_items")["a"], "a negative minItems is 0")
	assert.Len(t, gen("huge_min_length")["s"], maxStringLen, "minLength is capped")
	items := gen("huge_min_items")["a"].([]any)
	assert.Len(t, items, maxItems, "minItems is capped")
	assert.Len(t, items[0], maxStringLen)
	for _, name := range []string{"self_all_of", "self_any_of", "branching_all_of", "self_nested", "tiny_multiple_of"} {
		key := "x"
		if name == "tiny_multiple_of" {
			key = "n"
		}
		assert.Contains(t, gen(name), key, "%s: recursion stops and the required property is there", name)
	}
}

func TestArgumentsSayWhatTheyCannotMeet(t *testing.T) {
	tests := []struct {
		name, schema string
		path, reason string
	}{
		{"a pattern no candidate matches", `{"type":"object","properties":{"p":{"type":"string","pattern":"^zz[0-9]{3}$"}},"required":["p"]}`,
			"properties.p.pattern", "none of the generator's candidate strings matches"},
		{"a minLength above the maxLength", `{"type":"object","properties":{"s":{"type":"string","minLength":5,"maxLength":2}},"required":["s"]}`,
			"properties.s", "minLength 5 is above maxLength 2"},
		{"integer bounds with no integer between", `{"type":"object","properties":{"i":{"type":"integer","minimum":1.2,"maximum":1.8}},"required":["i"]}`,
			"properties.i", "no number meets its minimum, maximum and multipleOf"},
		{"a remote $ref", `{"type":"object","properties":{"r":{"$ref":"https://example.com/s.json"}},"required":["r"]}`,
			"properties.r", `$ref "https://example.com/s.json" is not followed`},
		{"a required object nested in itself", `{"type":"object","properties":{"x":{"$ref":"#"}},"required":["x"]}`,
			"properties.x" + strings.Repeat(".properties.x", maxDepth-1), "nests deeper than 16 levels"},
		// Each keyword met on its own, not together: the result is
		// validated against the whole schema.
		{"a pattern and a minLength", `{"type":"object","properties":{"n":{"type":"string","pattern":"^[0-9]+$","minLength":3}},"required":["n"]}`,
			"", "the generated arguments do not validate"},
		{"a pattern and a maxLength", `{"type":"object","properties":{"n":{"type":"string","pattern":"^test@","maxLength":3}},"required":["n"]}`,
			"", "the generated arguments do not validate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var schema any
			require.NoError(t, json.Unmarshal([]byte(tc.schema), &schema))
			args, err := Arguments(schema)
			var u *UnsatisfiableError
			require.True(t, errors.As(err, &u), "%v", err)
			assert.Equal(t, tc.path, u.Path)
			assert.Contains(t, u.Reason, tc.reason)
			assert.NotNil(t, args, "the arguments made are returned")
		})
	}
}

// decoded is v after a JSON round trip, as the target receives it.
func decoded(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}
