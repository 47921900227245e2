package tools

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
)

const testLLMKey = "sk-test-llm-key-5e1f9a"

// fakeLLM is an OpenAI-compatible chat-completions endpoint that checks the
// request and answers with reply, or with status and body when status is
// not 200. It returns its base URL.
func fakeLLM(t *testing.T, status int, body string, got *atomic.Value) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/v1/chat/completions", r.URL.Path)
		assert.Equal(t, "Bearer "+testLLMKey, r.Header.Get("Authorization"))
		var req map[string]any
		assert.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		if got != nil {
			got.Store(req)
		}
		if status != http.StatusOK {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"model": "fake-model-001",
			"choices": []any{map[string]any{
				"message":       map[string]any{"role": "assistant", "content": body},
				"finish_reason": "stop",
			}},
			"usage": map[string]any{"total_tokens": 12},
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

func TestExecutePrompt(t *testing.T) {
	reply := "Here you go:\n```json\n{\"greeting\": \"Bonjour\", \"n\": 2}\n```\nAnything else?"
	summarize := map[string]any{
		"name":           "summarize",
		"arguments":      `{"text": "Answer in {language} with {fields}."}`,
		"fill_variables": map[string]any{"language": "French"},
		"max_tokens":     64,
	}

	t.Run("an OpenAI-compatible endpoint runs the prompt and its JSON is parsed", func(t *testing.T) {
		var got atomic.Value
		t.Setenv("LLM_URL", fakeLLM(t, http.StatusOK, reply, &got))
		t.Setenv("LLM_MODEL_NAME", "fake-model")
		t.Setenv("LLM_API_KEY", testLLMKey)
		h := newConnectedHost(t, exampleserver.ModeNormal, nil)

		env := h.call("execute_prompt", summarize)
		require.True(t, env["success"].(bool), "execute_prompt: %v", env)
		assert.Equal(t, providerOpenAI, get(env, "llm", "provider"))
		assert.Equal(t, "fake-model-001", get(env, "llm", "model"))
		assert.Equal(t, "stop", get(env, "llm", "finish_reason"))
		assert.Equal(t, reply, get(env, "llm", "reply"))
		assert.Equal(t, map[string]any{"greeting": "Bonjour", "n": 2.0}, env["parsed_json"])
		assert.Equal(t, "summarize", get(env, "prompt", "name"))
		text := get(env, "prompt", "messages", 0, "content", "text")
		assert.Contains(t, text, "Answer in French with {fields}.")
		assert.Equal(t, []any{"language"}, get(env, "prompt", "filled_variables"))
		assert.Equal(t, []any{"fields"}, get(env, "prompt", "unfilled_placeholders"))
		assert.NotNil(t, get(env, "execution", "duration_ms"))

		req := got.Load().(map[string]any)
		assert.Equal(t, "fake-model", req["model"])
		assert.EqualValues(t, 64, req["max_tokens"])
		assert.Equal(t, []any{map[string]any{"role": "user", "content": text}}, req["messages"])
	})

	t.Run("the host's model runs the prompt when the host supports sampling", func(t *testing.T) {
		t.Setenv("LLM_URL", "http://127.0.0.1:1/v1") // must not be used
		var asked atomic.Value
		h := newHost(t, &hostOptions{client: &mcp.ClientOptions{
			CreateMessageHandler: func(_ context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
				asked.Store(req.Params)
				return &mcp.CreateMessageResult{Model: "host-model", Role: "assistant", StopReason: "endTurn",
					Content: &mcp.TextContent{Text: `Sure: [1, 2, {"three": 3}] and more`}}, nil
			},
		}})
		h.connect(exampleserver.ModeNormal, nil)

		env := h.call("execute_prompt", map[string]any{"name": "greet", "arguments": map[string]any{"name": "Ada"}})
		require.True(t, env["success"].(bool), "execute_prompt: %v", env)
		assert.Equal(t, providerHost, get(env, "llm", "provider"))
		assert.Equal(t, "host-model", get(env, "llm", "model"))
		assert.Equal(t, "endTurn", get(env, "llm", "stop_reason"))
		assert.Equal(t, []any{1.0, 2.0, map[string]any{"three": 3.0}}, env["parsed_json"])
		params := asked.Load().(*mcp.CreateMessageParams)
		assert.EqualValues(t, defaultExecuteMaxTokens, params.MaxTokens)
		require.Len(t, params.Messages, 1)
		assert.Equal(t, "Say hi to Ada.", params.Messages[0].Content.(*mcp.TextContent).Text)
	})

	t.Run("with no LLM at all it is capability_missing", func(t *testing.T) {
		t.Setenv("LLM_URL", "")
		h := newConnectedHost(t, exampleserver.ModeNormal, nil)
		env := h.call("execute_prompt", map[string]any{"name": "greet", "arguments": map[string]any{"name": "Ada"}})
		assert.Equal(t, string(errtype.CapabilityMissing), errType(env))
		assert.Contains(t, get(env, "error", "suggestion"), "LLM_URL")
		assert.Nil(t, env["parsed_json"])
	})

	t.Run("an endpoint that fails is reported with its status and body", func(t *testing.T) {
		t.Setenv("LLM_URL", fakeLLM(t, http.StatusInternalServerError, "model crashed; key was "+testLLMKey, nil))
		t.Setenv("LLM_API_KEY", testLLMKey)
		h := newConnectedHost(t, exampleserver.ModeNormal, nil)
		env := h.call("execute_prompt", summarize)
		assert.Equal(t, string(errtype.ConnectionFailed), errType(env))
		assert.Contains(t, get(env, "error", "message"), "500")
		assert.EqualValues(t, 500, get(env, "error", "details", "status_code"))
		assert.Contains(t, get(env, "error", "details", "body_snippet"), "model crashed")
		assert.NotNil(t, env["prompt"], "the rendered prompt is shown anyway")
	})

	t.Run("an endpoint that does not speak JSON is a protocol_error", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<html>hello</html>"))
		}))
		t.Cleanup(srv.Close)
		t.Setenv("LLM_URL", srv.URL+"/v1/chat/completions")
		h := newConnectedHost(t, exampleserver.ModeNormal, nil)
		env := h.call("execute_prompt", summarize)
		assert.Equal(t, string(errtype.ProtocolError), errType(env))
		assert.Contains(t, get(env, "error", "details", "body_snippet"), "<html>")
	})

	t.Run("an unknown prompt is prompt_not_found before any LLM is asked", func(t *testing.T) {
		t.Setenv("LLM_URL", "http://127.0.0.1:1/v1")
		h := newConnectedHost(t, exampleserver.ModeNormal, nil)
		env := h.call("execute_prompt", map[string]any{"name": "gret"})
		assert.Equal(t, string(errtype.PromptNotFound), errType(env))
	})

	t.Run("LLM_API_KEY never appears in any output", func(t *testing.T) {
		t.Setenv("LLM_URL", fakeLLM(t, http.StatusOK, "the key is "+testLLMKey, nil))
		t.Setenv("LLM_API_KEY", testLLMKey)
		h := newConnectedHost(t, exampleserver.ModeFaults, nil)
		env := h.call("execute_prompt", map[string]any{"name": "summarize", "arguments": map[string]any{"text": testLLMKey}})
		require.True(t, env["success"].(bool), "execute_prompt: %v", env)
		// The tester's own key is not passed on to the targets it starts.
		echoed := h.call("call_tool", map[string]any{"name": "env", "arguments": map[string]any{"name": "LLM_API_KEY"}})
		assert.Contains(t, get(echoed, "tool_call", "text"), "not set", "%v", echoed)
		h.call("status", nil)
		outs := h.rawOutputs()
		require.Len(t, outs, 4)
		for _, out := range outs {
			assert.NotContains(t, out, testLLMKey)
		}
	})
}

func TestFindJSON(t *testing.T) {
	for _, tc := range []struct {
		name, reply string
		want        any
	}{
		{"a json block", "x\n```json\n{\"a\": 1}\n```", map[string]any{"a": json.Number("1")}},
		{"an untagged block", "```\n[true]\n```", []any{true}},
		{"a block in another language is skipped", "```python\n{'a': 1}\n```\nthen {\"b\": 2}", map[string]any{"b": json.Number("2")}},
		{"braces inside strings", `answer: {"s": "a } b", "t": [1]} done`, map[string]any{"s": "a } b", "t": []any{json.Number("1")}}},
		{"the first balanced value that parses", `{not json} then [1, 2]`, []any{json.Number("1"), json.Number("2")}},
		{"none", "no json here {at all", nil},
		{"a bare number is not taken", "42", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, findJSON(tc.reply))
		})
	}
}

func TestFillPromptVariables(t *testing.T) {
	msgs := []*mcp.PromptMessage{
		{Role: "user", Content: &mcp.TextContent{Text: "Hi {name}, {name}! {other} {n}"}},
		{Role: "assistant", Content: &mcp.ImageContent{MIMEType: "image/png", Data: []byte{1}}},
	}
	out, found := fillPromptVariables(msgs, map[string]any{"name": "Ada", "n": json.Number("3"), "unused": "x"})
	assert.Equal(t, "Hi Ada, Ada! {other} 3", out[0].Content.(*mcp.TextContent).Text)
	assert.Equal(t, "Hi {name}, {name}! {other} {n}", msgs[0].Content.(*mcp.TextContent).Text, "the input is not changed")
	assert.Equal(t, []string{"n", "name"}, found)
	assert.Equal(t, []string{"other"}, placeholdersIn(out))
	assert.True(t, strings.HasPrefix(out[1].Content.(*mcp.ImageContent).MIMEType, "image/"))
}

func TestGetPromptAndExecutePromptConvertArgumentsAlike(t *testing.T) {
	t.Setenv("LLM_URL", fakeLLM(t, http.StatusOK, "ok", nil))
	t.Setenv("LLM_MODEL_NAME", "fake-model")
	t.Setenv("LLM_API_KEY", testLLMKey)
	h := newConnectedHost(t, exampleserver.ModeNormal, nil)

	tests := []struct {
		name    string
		value   any
		want    string // the text sent, when accepted
		wantErr string // the error message, when refused
	}{
		{name: "a string is sent as is", value: "Ada", want: "Ada"},
		{name: "a number is sent as its JSON text", value: 42.5, want: "42.5"},
		{name: "a boolean is sent as its JSON text", value: true, want: "true"},
		{name: "an object is refused, naming the argument", value: map[string]any{"a": 1.0}, wantErr: `rguments are strings: "text" is an object`},
		{name: "an array is refused", value: []any{"a"}, wantErr: `rguments are strings: "text" is an array`},
		{name: "null is refused", value: nil, wantErr: `rguments are strings: "text" is null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := map[string]any{"name": "summarize", "arguments": map[string]any{"text": tc.value}}
			got := h.call("get_prompt", args)
			ran := h.call("execute_prompt", args)
			if tc.wantErr != "" {
				for _, env := range []map[string]any{got, ran} {
					assert.Equal(t, "invalid_arguments", errType(env), "%v", env)
					assert.Contains(t, get(env, "error", "message"), tc.wantErr)
				}
				assert.Equal(t, get(got, "error", "message"), get(ran, "error", "message"), "one rule, one error")
				return
			}
			require.Equal(t, true, got["success"], "%v", got)
			require.Equal(t, true, ran["success"], "%v", ran)
			assert.Equal(t, tc.want, get(got, "prompt", "arguments", "text"))
			assert.Equal(t, tc.want, get(ran, "prompt", "arguments", "text"))
			assert.Contains(t, get(got, "prompt", "text"), "\n\n"+tc.want)
		})
	}
}

func TestRunChecksCountsTheWarningsOfCallAll(t *testing.T) {
	h := newConnectedHost(t, exampleserver.ModeNormal, nil)
	// The example server's sample tool answers isError: true when the
	// client cannot sample, which call_all reports as a warning.
	env := h.call("run_checks", map[string]any{"spec": map[string]any{"steps": []any{}}, "call_all": true})
	require.Equal(t, true, env["success"], "%v", env)
	assert.Equal(t, true, env["passed"], "a warning does not fail the run")
	assert.Contains(t, env["message"], "0 failed, 1 skipped, 1 warning.")
	assert.EqualValues(t, 1, get(env, "report", "summary", "warnings"))
}
