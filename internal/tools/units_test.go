package tools

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/schemacheck"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestCutter(t *testing.T) {
	c := cutter{maxText: 10, maxBinary: 4}
	tests := []struct {
		name  string
		block mcp.Content
		want  string
	}{
		{"short text is kept whole", &mcp.TextContent{Text: "hello"}, `{"type":"text","text":"hello"}`},
		{"long text is cut at a rune boundary", &mcp.TextContent{Text: "ééééééééé"}, `{"type":"text","text":"ééééé","truncated":true,"size_bytes":18}`},
		{"a large image is cut", &mcp.ImageContent{MIMEType: "image/png", Data: []byte("123456")},
			`{"type":"image","mimeType":"image/png","data":"MTIzNA==","truncated":true,"size_bytes":6}`},
		{"a large audio clip is cut", &mcp.AudioContent{MIMEType: "audio/wav", Data: []byte("123456")},
			`{"type":"audio","mimeType":"audio/wav","data":"MTIzNA==","truncated":true,"size_bytes":6}`},
		{"a large embedded blob is cut", &mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "file:///x", Blob: []byte("123456")}},
			`{"type":"resource","resource":{"uri":"file:///x","blob":"MTIzNA=="},"truncated":true,"size_bytes":6}`},
		{"a resource link is kept", &mcp.ResourceLink{URI: "file:///x", Name: "x"}, `{"type":"resource_link","uri":"file:///x","name":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(c.block(tt.block))
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got))
		})
	}

	t.Run("joined text is cut and reports its full size", func(t *testing.T) {
		text, size, cut := c.joinText([]mcp.Content{
			&mcp.TextContent{Text: "abcdef"}, &mcp.ImageContent{}, &mcp.TextContent{Text: "ghijkl"},
		})
		assert.Equal(t, "abcdef\nghi", text)
		assert.Equal(t, 13, size)
		assert.True(t, cut)
	})
	t.Run("joined text under the limit is whole", func(t *testing.T) {
		text, size, cut := c.joinText([]mcp.Content{&mcp.TextContent{Text: "ab"}, &mcp.TextContent{Text: "cd"}})
		assert.Equal(t, "ab\ncd", text)
		assert.Equal(t, 5, size)
		assert.False(t, cut)
	})
}

func TestScrubJSON(t *testing.T) {
	var s secretSet
	s.Add("s3cr3t-value", "true", "a\"b<c", "x")
	tests := []struct {
		name, in, want string
	}{
		{"a secret inside a string is masked", `{"a":"token s3cr3t-value here"}`, `{"a":"token *** here"}`},
		{"a secret matching JSON syntax leaves the syntax alone", `{"ok":true,"s":"true"}`, `{"ok":true,"s":"***"}`},
		{"a secret with escaped characters is masked", `{"a":"x a\"b\u003cc y"}`, `{"a":"x *** y"}`},
		{"a secret in a key is masked", `{"s3cr3t-value":1}`, `{"***":1}`},
		{"short values are not secrets", `{"x":"x"}`, `{"x":"x"}`},
		{"a URL-escaped secret is masked", `{"u":"http://h/?k=a%22b%3Cc"}`, `{"u":"http://h/?k=***"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(s.scrubJSON([]byte(tt.in)))
			assert.JSONEq(t, tt.want, got)
			assert.True(t, json.Valid([]byte(got)))
		})
	}
	t.Run("an empty set changes nothing", func(t *testing.T) {
		var empty secretSet
		in := []byte(`{"a":"b"}`)
		assert.Equal(t, in, empty.scrubJSON(in))
	})
}

func TestCheckOutput(t *testing.T) {
	draft07 := map[string]any{
		"$schema":     "http://json-schema.org/draft-07/schema#",
		"type":        "object",
		"properties":  map[string]any{"point": map[string]any{"$ref": "#/definitions/point"}},
		"required":    []any{"point"},
		"definitions": map[string]any{"point": map[string]any{"type": "object", "required": []any{"x"}, "properties": map[string]any{"x": map[string]any{"type": "number"}}}},
	}
	plain := map[string]any{"type": "object", "properties": map[string]any{"n": map[string]any{"type": "integer"}}, "required": []any{"n"}}
	tests := []struct {
		name        string
		tool        *mcp.Tool
		res         *mcp.CallToolResult
		wantChecked bool
		wantValid   *bool
	}{
		{"no tool definition", nil, &mcp.CallToolResult{}, false, nil},
		{"no outputSchema", &mcp.Tool{}, &mcp.CallToolResult{StructuredContent: map[string]any{}}, false, nil},
		{"an error result without structured content", &mcp.Tool{OutputSchema: plain}, &mcp.CallToolResult{IsError: true}, false, nil},
		{"missing structured content", &mcp.Tool{OutputSchema: plain}, &mcp.CallToolResult{}, true, new(false)},
		{"matching structured content", &mcp.Tool{OutputSchema: plain}, &mcp.CallToolResult{StructuredContent: map[string]any{"n": 3.0}}, true, new(true)},
		{"mismatching structured content", &mcp.Tool{OutputSchema: plain}, &mcp.CallToolResult{StructuredContent: map[string]any{"n": "three"}}, true, new(false)},
		{"raw JSON structured content", &mcp.Tool{OutputSchema: plain}, &mcp.CallToolResult{StructuredContent: json.RawMessage(`{"n":1}`)}, true, new(true)},
		{"a draft-07 schema with definitions", &mcp.Tool{OutputSchema: draft07}, &mcp.CallToolResult{StructuredContent: map[string]any{"point": map[string]any{"x": 1.0}}}, true, new(true)},
		{"a draft-07 schema with definitions, violated", &mcp.Tool{OutputSchema: draft07}, &mcp.CallToolResult{StructuredContent: map[string]any{"point": map[string]any{}}}, true, new(false)},
		{"a schema that cannot be read", &mcp.Tool{OutputSchema: map[string]any{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"}}, &mcp.CallToolResult{StructuredContent: map[string]any{}}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chk := schemacheck.Output(tt.tool, tt.res)
			assert.Equal(t, tt.wantChecked, chk.Checked, "%+v", chk)
			assert.Equal(t, tt.wantValid, chk.Valid, "%+v", chk)
			assert.NotNil(t, chk.Errors)
			if tt.wantValid != nil && !*tt.wantValid || !tt.wantChecked && chk.Note == "" {
				assert.NotEmpty(t, chk.Errors)
			}
		})
	}
}
