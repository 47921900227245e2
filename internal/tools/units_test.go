package tools

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/check"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/schemacheck"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestClassify(t *testing.T) {
	code := 1
	tests := []struct {
		name     string
		err      error
		during   op
		wantType ErrorType
		check    func(t *testing.T, e *ErrorInfo)
	}{
		{name: "no connection", err: connmgr.ErrNotConnected, during: opRequest, wantType: ErrNotConnected},
		{name: "a bad spec", err: fmt.Errorf("%w: headers need an HTTP transport", connmgr.ErrInvalidSpec), during: opConnect, wantType: ErrInvalidArguments},
		{
			name: "a spawn failure carries its hint", during: opConnect, wantType: ErrConnectionFailed,
			err: &connmgr.SpawnError{Command: "npx -y foo", Hint: "pass command: npx, args: [-y, foo]", Err: errors.New("not found")},
			check: func(t *testing.T, e *ErrorInfo) {
				assert.Equal(t, "pass command: npx, args: [-y, foo]", e.Suggestion)
			},
		},
		{
			name: "an exit while connecting failed the connection", during: opConnect, wantType: ErrConnectionFailed,
			err: &connmgr.ExitError{Exit: connmgr.ExitInfo{Code: &code, StderrTail: "fatal\n"}, During: "initialize"},
			check: func(t *testing.T, e *ErrorInfo) {
				assert.Equal(t, "fatal\n", e.Details["stderr_tail"])
			},
		},
		{
			name: "an exit during a call lost the connection", during: opRequest, wantType: ErrConnectionLost,
			err: &connmgr.ExitError{Exit: connmgr.ExitInfo{Signal: "SIGKILL"}, During: "tools/call"},
			check: func(t *testing.T, e *ErrorInfo) {
				assert.Equal(t, "SIGKILL", e.Details["signal"])
			},
		},
		{name: "a lost stream", err: &connmgr.LostError{Reason: "the stream ended"}, during: opRequest, wantType: ErrConnectionLost},
		{
			name: "an HTTP 401 suggests credentials", during: opConnect, wantType: ErrConnectionFailed,
			err: &connmgr.HTTPError{StatusCode: 401, WWWAuthenticate: "Bearer"},
			check: func(t *testing.T, e *ErrorInfo) {
				assert.Contains(t, e.Suggestion, "bearer_token")
				assert.Equal(t, 401, e.Details["status_code"])
			},
		},
		{
			name: "a timeout that closed the connection says so", during: opRequest, wantType: ErrTimeout,
			err: &connmgr.TimeoutError{Method: "tools/call", After: time.Second, Lost: true},
			check: func(t *testing.T, e *ErrorInfo) {
				assert.Contains(t, e.Suggestion, "connect again")
			},
		},
		{
			name: "a timeout that left the connection usable says so", during: opRequest, wantType: ErrTimeout,
			err: &connmgr.TimeoutError{Method: "tools/call", After: time.Second, Cancelled: true},
			check: func(t *testing.T, e *ErrorInfo) {
				assert.Contains(t, e.Suggestion, "still usable")
			},
		},
		{
			name: "an unknown tool lists close names", during: opRequest, wantType: ErrToolNotFound,
			err: &connmgr.ToolNotFoundError{Name: "get_wether", Available: []string{"echo", "get_weather", "add"}},
			check: func(t *testing.T, e *ErrorInfo) {
				assert.Contains(t, e.Suggestion, `Did you mean "get_weather"?`)
				assert.Equal(t, []string{"echo", "get_weather", "add"}, e.Details["available_tools"])
			},
		},
		{
			name: "the target's invalid params", during: opRequest, wantType: ErrInvalidArguments,
			err: &connmgr.RPCError{Method: "tools/call", Code: -32602, Message: "missing a"},
			check: func(t *testing.T, e *ErrorInfo) {
				assert.Contains(t, e.Message, "missing a")
			},
		},
		{name: "another JSON-RPC error", err: &connmgr.RPCError{Method: "tools/call", Code: -32603, Message: "oops"}, during: opRequest, wantType: ErrProtocolError},
		{
			name: "a message over the limit names it", during: opRequest, wantType: ErrProtocolError,
			err: &connmgr.MessageTooLargeError{Limit: 32 << 20},
			check: func(t *testing.T, e *ErrorInfo) {
				assert.Contains(t, e.Message, "32 MiB")
				assert.Contains(t, e.Suggestion, "MCP_TEST_MAX_MESSAGE_BYTES")
			},
		},
		{name: "a protocol violation", err: &connmgr.ProtocolError{Msg: "cursor repeats"}, during: opRequest, wantType: ErrProtocolError},
		{name: "anything else", err: errors.New("surprise"), during: opRequest, wantType: ErrInternalError},
		{name: "a wrapped error is still recognised", err: fmt.Errorf("listing: %w", connmgr.ErrNotConnected), during: opRequest, wantType: ErrNotConnected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := classify(tt.err, tt.during)
			assert.Equal(t, tt.wantType, e.Type)
			if tt.during != opArgs {
				assert.Equal(t, string(tt.wantType), check.ErrorType(tt.err, tt.during == opConnect), "check's reports name errors as the tools do")
			}
			assert.NotEmpty(t, e.Message)
			assert.NotEmpty(t, e.Suggestion)
			if tt.check != nil {
				tt.check(t, e)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	names := []string{"echo", "add", "get_weather", "get_forecast", "tiny_image", "slow"}
	tests := []struct {
		name, query string
		want        []string
	}{
		{"a typo finds the tool", "ecko", []string{"echo"}},
		{"case does not matter", "ECHO", []string{"echo"}},
		{"a fragment finds the tools containing it", "weather", []string{"get_weather"}},
		{"a prefix finds every match, closest first", "get_", []string{"get_weather", "get_forecast"}},
		{"a name unlike any finds nothing", "zzzzzzzz", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, closest(tt.query, names, 3))
		})
	}
	t.Run("a prefix ranks above a substring", func(t *testing.T) {
		got := closest("timeout", []string{"call_timeout_seconds", "timeout_seconds"}, 1)
		assert.Equal(t, []string{"timeout_seconds"}, got)
	})
}

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

func TestSentence(t *testing.T) {
	assert.Equal(t, "Starting \"x\": not found.", sentence(`starting "x": not found`))
	assert.Equal(t, "Done?", sentence("done?"))
	assert.Equal(t, "", sentence(" "))
	assert.False(t, strings.HasSuffix(sentence("ends."), ".."))
}
