package tools

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

// lastRaw returns the text of the host's last result decoded with exact
// numbers (json.Number), and the text itself.
func (h *host) lastRaw() (map[string]any, string) {
	h.t.Helper()
	outs := h.rawOutputs()
	require.NotEmpty(h.t, outs)
	text := outs[len(outs)-1]
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	var env map[string]any
	require.NoError(h.t, dec.Decode(&env))
	return env, text
}

// wireJSON marshals v, a part of an envelope decoded with exact numbers,
// for comparing with what the target sent.
func wireJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestCallToolShowsTheResultAsSent(t *testing.T) {
	h := newHost(t, nil)
	env := h.call("connect", hostileArgs(hostile.WireExtras, nil))
	require.Equal(t, true, env["success"], "%v", env)

	env = h.call("call_tool", map[string]any{"name": hostile.Tool})
	require.Equal(t, true, env["success"], "%v", env)
	env, text := h.lastRaw()
	call := env["tool_call"].(map[string]any)
	var sent map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(hostile.WireCallResult)))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&sent))

	t.Run("structured content keeps every number's exact text", func(t *testing.T) {
		assert.JSONEq(t, hostile.WireStructured, wireJSON(t, call["structured_content"]))
		assert.Contains(t, text, `"big":`+hostile.WireBig, "2^53+1 is not rounded to 2^53")
		for _, n := range []string{`"cents":0.10`, `"huge":1.5e300`, `"exp":1E+2`, `"negzero":-0.0`, `"long":12345678901234567890123`} {
			assert.Contains(t, text, n)
		}
	})
	t.Run("content blocks keep their unknown fields and exact numbers", func(t *testing.T) {
		assert.JSONEq(t, wireJSON(t, sent["content"]), wireJSON(t, call["content"]))
		assert.Contains(t, text, `"_meta":{"k":`+hostile.WireBig+`}`)
		assert.Contains(t, text, `"priority":0.30000000000000004`)
	})
	t.Run("the result's _meta and unknown fields are shown", func(t *testing.T) {
		assert.JSONEq(t, wireJSON(t, sent["_meta"]), wireJSON(t, call["meta"]))
		assert.JSONEq(t, `{"x-vendor-result":{"cost":0.10}}`, wireJSON(t, call["other_fields"]))
		assert.Contains(t, text, `"cost":0.10`)
	})
	t.Run("the output schema is still checked", func(t *testing.T) {
		assert.Equal(t, map[string]any{"checked": true, "valid": true}, without(call["output_schema_check"], "errors"))
	})
}

// decodeExact decodes the JSON text s with exact numbers.
func decodeExact(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v map[string]any
	require.NoError(t, dec.Decode(&v))
	return v
}

func TestConnectAndListToolsShowWhatWasSent(t *testing.T) {
	h := newHost(t, nil)
	env := h.call("connect", hostileArgs(hostile.WireExtras, nil))
	require.Equal(t, true, env["success"], "%v", env)
	env, text := h.lastRaw()

	t.Run("connect shows the capabilities as declared, unknown keys included", func(t *testing.T) {
		assert.JSONEq(t, hostile.WireCapabilities, wireJSON(t, get(env, "connection", "capabilities")))
		assert.Contains(t, text, `"x-vendor-cap":{"limit":`+hostile.WireBig+`}`)
	})
	t.Run("connect shows serverInfo's other fields as sent", func(t *testing.T) {
		info := decodeExact(t, hostile.WireServerInfo)
		assert.Equal(t, "wire", get(env, "connection", "server_info", "name"))
		assert.Equal(t, "1.0", get(env, "connection", "server_info", "version"))
		assert.JSONEq(t, wireJSON(t, map[string]any{"icons": info["icons"], "websiteUrl": info["websiteUrl"], "x-build": info["x-build"]}),
			wireJSON(t, get(env, "connection", "server_info", "other_fields")))
	})
	t.Run("status shows the same capabilities", func(t *testing.T) {
		h.call("status", nil)
		env, _ := h.lastRaw()
		assert.JSONEq(t, hostile.WireCapabilities, wireJSON(t, get(env, "connection", "capabilities")))
	})

	h.call("list_tools", nil)
	env, text = h.lastRaw()
	tool := decodeExact(t, hostile.WireTool)
	got, _ := get(env, "tools", 0).(map[string]any)
	require.NotNil(t, got, "%s", text)
	t.Run("list_tools shows every field of a tool as sent", func(t *testing.T) {
		for wire, shown := range map[string]string{
			"inputSchema": "input_schema", "outputSchema": "output_schema", "annotations": "annotations",
			"icons": "icons", "execution": "execution", "_meta": "meta",
		} {
			assert.JSONEq(t, wireJSON(t, tool[wire]), wireJSON(t, got[shown]), "%s as %s", wire, shown)
		}
		assert.JSONEq(t, `{"x-vendor":{"tier":"gold"}}`, wireJSON(t, got["other_fields"]))
		assert.Equal(t, tool["description"], got["description"])
	})
	t.Run("JSON Schema 2020-12 keywords are kept", func(t *testing.T) {
		for _, kw := range []string{`"$schema":"https://json-schema.org/draft/2020-12/schema"`, `"$defs":{"id":`, `"$ref":"#/$defs/id"`, `"additionalProperties":false`, `"unevaluatedProperties":false`} {
			assert.Contains(t, text, kw)
		}
		assert.Contains(t, text, `"n":`+hostile.WireBig, "the tool's _meta keeps 2^53+1")
	})
	t.Run("without schemas the rest is still shown", func(t *testing.T) {
		h.call("list_tools", map[string]any{"include_schemas": false})
		env, _ := h.lastRaw()
		got, _ := get(env, "tools", 0).(map[string]any)
		assert.NotContains(t, got, "input_schema")
		assert.NotContains(t, got, "output_schema")
		assert.JSONEq(t, wireJSON(t, tool["execution"]), wireJSON(t, got["execution"]))
	})
}

// without returns the object v without key.
func without(v any, key string) map[string]any {
	m, _ := v.(map[string]any)
	out := map[string]any{}
	for k, x := range m {
		if k != key {
			out[k] = x
		}
	}
	return out
}

func TestRawCutter(t *testing.T) {
	c := cutter{maxText: 10, maxBinary: 4}
	tests := []struct {
		name, block, want string
	}{
		{"a short block is kept byte for byte", `{"type":"text","text":"hello","x-n":9007199254740993}`, `{"type":"text","text":"hello","x-n":9007199254740993}`},
		{"long text is cut, its other fields kept as sent", `{"type":"text","text":"ééééééééé","x-n":9007199254740993}`,
			`{"type":"text","text":"ééééé","x-n":9007199254740993,"truncated":true,"size_bytes":18}`},
		{"a large image is cut", `{"type":"image","mimeType":"image/png","data":"MTIzNDU2"}`,
			`{"type":"image","mimeType":"image/png","data":"MTIzNA==","truncated":true,"size_bytes":6}`},
		{"a large embedded blob is cut", `{"type":"resource","resource":{"uri":"file:///x","blob":"MTIzNDU2","_meta":{"n":1.0}}}`,
			`{"type":"resource","resource":{"uri":"file:///x","blob":"MTIzNA==","_meta":{"n":1.0}},"truncated":true,"size_bytes":6}`},
		{"an unknown block type is kept", `{"type":"hologram","data":"MTIzNDU2"}`, `{"type":"hologram","data":"MTIzNDU2"}`},
	}
	t.Run("go-sdk's decoding of a block is used when given", func(t *testing.T) {
		for block, typed := range map[string]mcp.Content{
			`{"type":"text","text":"ééééééééé","x":1}`:                           &mcp.TextContent{Text: "ééééééééé"},
			`{"type":"image","data":"MTIzNDU2","x":1}`:                           &mcp.ImageContent{Data: []byte("123456")},
			`{"type":"resource","resource":{"uri":"u","blob":"MTIzNDU2"},"x":1}`: &mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "u", Blob: []byte("123456")}},
		} {
			want, err := json.Marshal(c.rawBlock(json.RawMessage(block), nil))
			require.NoError(t, err)
			got, err := json.Marshal(c.rawBlock(json.RawMessage(block), typed))
			require.NoError(t, err)
			assert.JSONEq(t, string(want), string(got))
			assert.Contains(t, string(got), `"truncated":true`)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(c.rawBlock(json.RawMessage(tt.block), nil))
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got))
			if tt.block == tt.want {
				assert.Equal(t, tt.want, string(got))
			}
			for _, n := range []string{"9007199254740993", "1.0"} {
				if bytes.Contains([]byte(tt.block), []byte(n)) {
					assert.Contains(t, string(got), n, "numbers keep their text")
				}
			}
		})
	}
}

func TestListsShowWhatWasSent(t *testing.T) {
	h := newHost(t, nil)
	env := h.call("connect", hostileArgs(hostile.WireExtras, nil))
	require.Equal(t, true, env["success"], "%v", env)
	tests := []struct {
		tool, list, sent string
		shown            map[string]string // wire field: shown field
	}{
		{"list_resources", "resources", hostile.WireResource, map[string]string{"annotations": "annotations", "icons": "icons", "_meta": "meta"}},
		{"list_resource_templates", "resource_templates", hostile.WireTemplate, map[string]string{"icons": "icons", "_meta": "meta"}},
		{"list_prompts", "prompts", hostile.WirePrompt, map[string]string{"icons": "icons", "_meta": "meta"}},
	}
	for _, tt := range tests {
		t.Run(tt.tool+" shows icons, _meta and unknown fields as sent", func(t *testing.T) {
			env := h.call(tt.tool, nil)
			require.Equal(t, true, env["success"], "%v", env)
			env, text := h.lastRaw()
			got, _ := get(env, tt.list, 0).(map[string]any)
			require.NotNil(t, got, "%s", text)
			sent := decodeExact(t, tt.sent)
			for wire, shown := range tt.shown {
				assert.JSONEq(t, wireJSON(t, sent[wire]), wireJSON(t, got[shown]), "%s as %s", wire, shown)
			}
			assert.JSONEq(t, wireJSON(t, map[string]any{"x-vendor": sent["x-vendor"]}), wireJSON(t, got["other_fields"]))
			assert.Contains(t, text, `"n":`+hostile.WireBig)
		})
	}
}

func TestReadResourceShowsWhatWasSent(t *testing.T) {
	h := newHost(t, nil)
	env := h.call("connect", hostileArgs(hostile.WireExtras, nil))
	require.Equal(t, true, env["success"], "%v", env)
	env = h.call("read_resource", map[string]any{"uri": "wire://r"})
	require.Equal(t, true, env["success"], "%v", env)
	env, text := h.lastRaw()
	sent := decodeExact(t, hostile.WireReadResult)
	item := decodeExact(t, hostile.WireContents)

	assert.JSONEq(t, wireJSON(t, sent["_meta"]), wireJSON(t, env["meta"]), "the result's _meta")
	assert.JSONEq(t, `{"x-vendor-read":{"cost":0.10}}`, wireJSON(t, env["other_fields"]))
	assert.Equal(t, "hi", get(env, "contents", 0, "text"))
	assert.JSONEq(t, wireJSON(t, item["_meta"]), wireJSON(t, get(env, "contents", 0, "meta")), "the item's _meta")
	assert.JSONEq(t, `{"x-item":0.10}`, wireJSON(t, get(env, "contents", 0, "other_fields")))
	assert.Contains(t, text, `"n":`+hostile.WireBig)
	assert.Contains(t, text, `"cost":0.10`)
}

func TestGetPromptShowsWhatWasSent(t *testing.T) {
	h := newHost(t, nil)
	env := h.call("connect", hostileArgs(hostile.WireExtras, nil))
	require.Equal(t, true, env["success"], "%v", env)
	env = h.call("get_prompt", map[string]any{"name": "p", "arguments": map[string]any{"a": "x"}})
	require.Equal(t, true, env["success"], "%v", env)
	env, text := h.lastRaw()
	sent := decodeExact(t, hostile.WirePromptResult)
	msg := decodeExact(t, hostile.WirePromptMessage)

	assert.JSONEq(t, wireJSON(t, sent["_meta"]), wireJSON(t, get(env, "prompt", "meta")), "the result's _meta")
	assert.JSONEq(t, `{"x-vendor-prompt":{"cost":0.10}}`, wireJSON(t, get(env, "prompt", "other_fields")))
	assert.JSONEq(t, wireJSON(t, msg["content"]), wireJSON(t, get(env, "prompt", "messages", 0, "content")), "the content block as sent")
	assert.JSONEq(t, `{"m":1}`, wireJSON(t, get(env, "prompt", "messages", 0, "meta")))
	assert.JSONEq(t, `{"x-msg":true}`, wireJSON(t, get(env, "prompt", "messages", 0, "other_fields")))
	assert.Equal(t, "hi", get(env, "prompt", "text"))
	assert.Contains(t, text, `"n":`+hostile.WireBig)
	assert.Contains(t, text, `"x-block":0.10`)
}
