package surface

import (
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func schema(t *testing.T, s string) any {
	t.Helper()
	if s == "" {
		return nil
	}
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v))
	return v
}

func tools(ts ...*mcp.Tool) *Surface { return &Surface{Tools: ts, Listed: All} }

func TestCompareNamesWhatChanged(t *testing.T) {
	obj := `{"type":"object"}`
	before := &Surface{
		Tools: []*mcp.Tool{
			{Name: "keep", InputSchema: schema(t, obj)},
			{Name: "drop", InputSchema: schema(t, obj)},
			{Name: "reshape", Description: "text", InputSchema: schema(t, `{"type":"object","properties":{"x":{"type":"string"}}}`)},
		},
		Resources:         []*mcp.Resource{{URI: "a://1", Name: "one"}, {URI: "a://2", Name: "two"}},
		ResourceTemplates: []*mcp.ResourceTemplate{{URITemplate: "a://{id}", Name: "items"}},
		Listed:            Listed{Tools: true, Resources: true, ResourceTemplates: true},
	}
	after := &Surface{
		Tools: []*mcp.Tool{
			{Name: "keep", InputSchema: schema(t, obj)},
			{Name: "reshape", Description: "number", InputSchema: schema(t, `{"type":"object","properties":{"x":{"type":"number"}}}`)},
			{Name: "added", InputSchema: schema(t, obj)},
		},
		Resources:         []*mcp.Resource{{URI: "a://1", Name: "one", MIMEType: "text/plain"}, {URI: "a://3", Name: "three"}},
		ResourceTemplates: []*mcp.ResourceTemplate{{URITemplate: "a://{id}", Name: "items"}},
		Prompts:           []*mcp.Prompt{{Name: "p"}},
		Listed:            All,
	}
	d := Compare(before, after)
	assert.True(t, d.Changed)
	assert.Equal(t, ListDiff{
		Compared: true, Added: []string{"added"}, Removed: []string{"drop"},
		Changed: []ItemChange{{Name: "reshape", Reason: "description changed, inputSchema changed"}},
	}, withoutClasses(d.Tools))
	assert.Equal(t, ListDiff{
		Compared: true, Added: []string{"a://3"}, Removed: []string{"a://2"},
		Changed: []ItemChange{{Name: "a://1", Reason: "mimeType changed"}},
	}, withoutClasses(d.Resources))
	assert.Equal(t, ListDiff{Compared: true, Added: []string{}, Removed: []string{}, Changed: []ItemChange{}}, withoutClasses(d.ResourceTemplates))
	assert.Equal(t, ListDiff{Added: []string{}, Removed: []string{}, Changed: []ItemChange{}}, d.Prompts,
		"a list had on one side only is not compared")

	b, err := json.Marshal(d.Prompts)
	require.NoError(t, err)
	assert.JSONEq(t, `{"compared":false,"added":[],"removed":[],"changed":[]}`, string(b), "empty lists, never null, on the wire")

	t.Run("a side that was not listed compares nothing", func(t *testing.T) {
		for _, d := range []Diff{Compare(nil, after), Compare(before, nil), Compare(before, &Surface{})} {
			assert.False(t, d.Changed)
			assert.False(t, d.Tools.Compared)
		}
	})
	t.Run("the same surface is unchanged", func(t *testing.T) {
		d := Compare(after, after)
		assert.False(t, d.Changed)
		b, a, c := d.Classify()
		assert.Empty(t, b)
		assert.Empty(t, a)
		assert.Empty(t, c)
	})
}

func withoutClasses(l ListDiff) ListDiff {
	l.classes = nil
	return l
}

func TestClassifyOutputSchemas(t *testing.T) {
	tool := func(out string) *Surface { return tools(&mcp.Tool{Name: "t", OutputSchema: schema(t, out)}) }
	base := `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["a"]}`
	tests := []struct {
		name     string
		cur      string
		breaking []string
		additive []string
	}{
		{"a required output property made optional breaks clients", `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}}}`,
			[]string{"tool t output.a is no longer required (clients relied on it being there)"}, nil},
		{"an output property made required only adds a guarantee", `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["a","b"]}`,
			nil, []string{"tool t output.b is now always present (required)"}},
		{"an output type widened breaks clients", `{"type":"object","properties":{"a":{"type":["string","null"]},"b":{"type":"integer"}},"required":["a"]}`,
			[]string{"tool t output.a: type changed from string to null|string"}, nil},
		{"an output type narrowed is fine", `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["a"]}`, nil, nil},
		{"an output property removed breaks clients", `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`,
			[]string{"tool t output.b was removed"}, nil},
		{"an output schema removed breaks clients", ``, []string{"tool t no longer declares an output schema"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, a, _ := Compare(tool(base), tool(tc.cur)).Classify()
			assert.Equal(t, tc.breaking, b)
			assert.Equal(t, tc.additive, a)
		})
	}
	t.Run("an output schema declared anew is additive", func(t *testing.T) {
		b, a, _ := Compare(tool(""), tool(base)).Classify()
		assert.Empty(t, b)
		assert.Equal(t, []string{"tool t now declares an output schema"}, a)
	})
}

func TestClassifyInputSchemas(t *testing.T) {
	tool := func(in string) *Surface { return tools(&mcp.Tool{Name: "t", InputSchema: schema(t, in)}) }
	base := `{"type":"object","properties":{"q":{"type":"string","enum":["a","b"]},"n":{"type":"integer"}},"required":["q"]}`
	tests := []struct {
		name     string
		cur      string
		breaking []string
		additive []string
	}{
		{"a new optional property is additive", `{"type":"object","properties":{"q":{"type":"string","enum":["a","b"]},"n":{"type":"integer"},"m":{"type":"string"}},"required":["q"]}`,
			nil, []string{"tool t input: new optional property m"}},
		{"a new required property breaks clients", `{"type":"object","properties":{"q":{"type":"string","enum":["a","b"]},"n":{"type":"integer"},"m":{"type":"string"}},"required":["q","m"]}`,
			[]string{"tool t input: new required property m"}, nil},
		{"a property made required breaks clients", `{"type":"object","properties":{"q":{"type":"string","enum":["a","b"]},"n":{"type":"integer"}},"required":["q","n"]}`,
			[]string{"tool t input.n is now required"}, nil},
		{"a property made optional is additive", `{"type":"object","properties":{"q":{"type":"string","enum":["a","b"]},"n":{"type":"integer"}}}`,
			nil, []string{"tool t input.q is now optional"}},
		{"a property removed breaks clients", `{"type":"object","properties":{"q":{"type":"string","enum":["a","b"]}},"required":["q"]}`,
			[]string{"tool t input.n was removed"}, nil},
		{"an enum value removed breaks clients", `{"type":"object","properties":{"q":{"type":"string","enum":["a"]},"n":{"type":"integer"}},"required":["q"]}`,
			[]string{`tool t input.q: enum values removed: "b"`}, nil},
		{"a type narrowed breaks clients", `{"type":"object","properties":{"q":{"type":"string","enum":["a","b"]},"n":{"type":"string"}},"required":["q"]}`,
			[]string{"tool t input.n: type changed from integer to string"}, nil},
		{"integer widened to number is fine", `{"type":"object","properties":{"q":{"type":"string","enum":["a","b"]},"n":{"type":"number"}},"required":["q"]}`,
			nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, a, _ := Compare(tool(base), tool(tc.cur)).Classify()
			assert.Equal(t, tc.breaking, b)
			assert.Equal(t, tc.additive, a)
		})
	}
}

func TestClassifyOrdersAndNamesEveryKind(t *testing.T) {
	ro := true
	before := &Surface{
		Tools: []*mcp.Tool{
			{Name: "a", Title: "A"},
			{Name: "b"},
			{Name: "c", Annotations: &mcp.ToolAnnotations{ReadOnlyHint: ro}},
		},
		Prompts: []*mcp.Prompt{
			{Name: "p", Arguments: []*mcp.PromptArgument{{Name: "x", Required: true}, {Name: "y"}, {Name: "z"}}},
			{Name: "gone"},
		},
		Resources:         []*mcp.Resource{{URI: "r://1", Name: "one"}, {URI: "r://2"}},
		ResourceTemplates: []*mcp.ResourceTemplate{{URITemplate: "r://{id}"}},
		Listed:            All,
	}
	after := &Surface{
		Tools: []*mcp.Tool{
			{Name: "a", Title: "A2"},
			{Name: "c"},
			{Name: "d"},
		},
		Prompts: []*mcp.Prompt{
			{Name: "p", Description: "new", Arguments: []*mcp.PromptArgument{{Name: "x"}, {Name: "y", Required: true}, {Name: "n"}, {Name: "m", Required: true}}},
		},
		Resources:         []*mcp.Resource{{URI: "r://1", Name: "uno"}},
		ResourceTemplates: []*mcp.ResourceTemplate{{URITemplate: "r://{id}"}, {URITemplate: "r://{x}"}},
		Listed:            All,
	}
	breaking, additive, changed := Compare(before, after).Classify()
	assert.Equal(t, []string{
		"tool b was removed",
		"prompt gone was removed",
		"prompt p: argument y is now required",
		"prompt p: argument z was removed",
		"prompt p: new required argument m",
		"resource r://2 was removed",
	}, breaking)
	assert.Equal(t, []string{
		"tool d was added",
		"prompt p: argument x is now optional",
		"prompt p: new optional argument n",
		"resource template r://{x} was added",
	}, additive)
	assert.Equal(t, []string{
		"tool a: title or description changed",
		`tool c: annotations changed from {"idempotentHint":false,"readOnlyHint":true} to null`,
		"prompt p: title or description changed",
		"resource r://1: name, description or MIME type changed",
	}, changed)
}
