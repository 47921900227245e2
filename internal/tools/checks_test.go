package tools

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

func TestExportChecksThenRunChecksPasses(t *testing.T) {
	t.Parallel()
	h := newConnectedHost(t, exampleserver.ModeFaults, map[string]any{"env": map[string]any{"EXAMPLE_API_KEY": "key-SECRET-9f21"}})

	h.call("call_tool", map[string]any{"name": "echo", "arguments": map[string]any{"message": "hello there"}})
	h.call("call_tool", map[string]any{"name": "add", "arguments": map[string]any{"a": 2, "b": 3}})
	h.call("call_tool", map[string]any{"name": "get_weather", "arguments": map[string]any{"city": "Oslo"}})
	h.call("call_tool", map[string]any{"name": "fail", "arguments": map[string]any{"message": "boom"}})
	h.call("call_tool", map[string]any{"name": "bad_structured", "arguments": map[string]any{}})
	h.call("call_tool", map[string]any{"name": "tiny_image"})
	h.call("call_tool", map[string]any{"name": "ehco", "arguments": map[string]any{"message": "typo"}})
	h.call("read_resource", map[string]any{"uri": "example://readme"})
	h.call("read_resource", map[string]any{"uri": "example://nope"})
	h.call("get_prompt", map[string]any{"name": "greet", "arguments": map[string]any{"name": "Ada"}})

	path := filepath.Join(t.TempDir(), "checks.yaml")
	env := h.call("export_checks", map[string]any{"path": path})
	require.Equal(t, true, env["success"], "%v", env)
	assert.Equal(t, float64(10), env["steps"])
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(text), "key-SECRET-9f21", "secrets are not written")
	assert.Contains(t, string(text), "EXAMPLE_API_KEY: ${EXAMPLE_API_KEY}")
	assert.Contains(t, string(text), "text_contains: hello there")
	assert.Contains(t, string(text), "error_type: tool_not_found")
	assert.Contains(t, string(text), "output_schema_valid: false")

	// The file and the returned spec both run green against the same target.
	env = h.call("run_checks", map[string]any{"spec_path": path, "format": "text"})
	require.Equal(t, true, env["success"], "%v", env)
	assert.Equal(t, true, env["passed"], "%s", env["report_text"])
	assert.Equal(t, float64(10), get(env, "report", "summary", "passed").(float64)-1, "10 steps and connect")

	spec := h.call("export_checks", nil)["spec"]
	env = h.call("run_checks", map[string]any{"spec": spec})
	assert.Equal(t, true, env["passed"], "%v", env["report"])

	// An expectation that does not hold fails, naming what came back.
	env = h.call("run_checks", map[string]any{"spec": map[string]any{"steps": []any{
		map[string]any{"call_tool": "echo", "arguments": map[string]any{"message": "hi"}, "expect": map[string]any{"text_contains": "bye"}},
	}}})
	require.Equal(t, true, env["success"], "%v", env)
	assert.Equal(t, false, env["passed"])
	failure := get(env, "report", "checks", 1, "failures", 0).(map[string]any)
	assert.Equal(t, "text_contains", failure["expectation"])
	assert.Equal(t, `text "hi"`, failure["actual"])

	for _, out := range h.rawOutputs() {
		assert.NotContains(t, out, "key-SECRET-9f21")
	}
}

func TestRunChecksRefusesBadSpecs(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	env := h.call("run_checks", map[string]any{"spec": map[string]any{"steps": []any{map[string]any{"call_tool": "x", "expekt": 1}}}})
	assert.Equal(t, "invalid_arguments", errType(env))
	assert.Contains(t, get(env, "error", "message"), `unknown key "expekt" in a step`)

	env = h.call("run_checks", map[string]any{"spec": map[string]any{"steps": []any{map[string]any{"ping": true}}}})
	assert.Equal(t, "invalid_arguments", errType(env), "no target and no connection")

	env = h.call("run_checks", map[string]any{"spec": map[string]any{
		"target": map[string]any{"command": os.Args[0], "args": []any{"--mode", "exit-before-init"}, "env": map[string]any{hostile.Behaviour: hostile.ExampleServer}},
		"steps":  []any{map[string]any{"ping": true}},
	}})
	assert.Equal(t, "connection_failed", errType(env))
	assert.Contains(t, get(env, "error", "details", "stderr_tail"), "missing configuration file")

	env = h.call("export_checks", nil)
	assert.Equal(t, "not_connected", errType(env))
}

func TestExportChecksKeepsSecretsAndDollarsExact(t *testing.T) {
	t.Parallel()
	const secret = "key-SECRET-abcdef"
	h := newConnectedHost(t, exampleserver.ModeNormal, map[string]any{"env": map[string]any{"EXAMPLE_API_KEY": secret}})

	h.call("call_tool", map[string]any{"name": "echo", "arguments": map[string]any{"message": secret}})
	h.call("call_tool", map[string]any{"name": "echo", "arguments": map[string]any{"message": "costs $5, not ${x} or $$"}})
	h.call("get_prompt", map[string]any{"name": "greet", "arguments": map[string]any{"name": "${HOME}"}})

	for _, file := range []string{"checks.yaml", "checks.json"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), file)
			env := h.call("export_checks", map[string]any{"path": path})
			require.Equal(t, true, env["success"], "%v", env)
			text, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.NotContains(t, string(text), secret)

			env = h.call("run_checks", map[string]any{"spec_path": path, "format": "text"})
			require.Equal(t, true, env["success"], "the exported spec parses:\n%s\n%v", text, env)
			assert.Equal(t, true, env["passed"], "%s\n%s", text, env["report_text"])
			assert.Equal(t, `costs $5, not ${x} or $$`, get(env, "report", "checks", 2, "arguments", "message"), "sent as recorded")
			assert.Equal(t, `${HOME}`, get(env, "report", "checks", 3, "arguments", "name"))
		})
	}
}

func TestRunChecksExpandsOnlyWhatItMay(t *testing.T) {
	tests := []struct {
		name    string
		opts    *hostOptions
		env     map[string]string // the tester's environment
		connect map[string]any    // connect's extra arguments
		// refused uses variables that run_checks must refuse, with an
		// error whose message holds wantMessage and suggestion wantSuggestion.
		refused        string
		wantMessage    []string
		wantSuggestion string
		// allowed uses variables it expands: the check passes, with expect,
		// and sends wantSent (unless empty).
		allowed  string
		expect   map[string]any
		wantSent string
		secret   string // in no output
	}{
		{
			name:           "locally, the tester's own credentials are kept, other variables expanded",
			env:            map[string]string{"MCP_TEST_AUTH_TOKEN": "tester-SECRET-auth", "LLM_API_KEY": "tester-SECRET-llm", "CHECK_TEST_PLAIN": "plain value"},
			refused:        "${MCP_TEST_AUTH_TOKEN} and ${LLM_API_KEY}",
			wantMessage:    []string{"${MCP_TEST_AUTH_TOKEN}, ${LLM_API_KEY}, which run_checks does not take from the tester's environment"},
			wantSuggestion: "mcp-test-mcp check --spec",
			allowed:        "${CHECK_TEST_PLAIN}",
			expect:         map[string]any{"text_contains": "value"},
			secret:         "tester-SECRET",
		},
		{
			name:        "served over HTTP, only the connection's values and a few plain variables are expanded",
			opts:        &hostOptions{remote: true},
			env:         map[string]string{"SOME_CLOUD_SECRET": "cloud-SECRET-31337"},
			connect:     map[string]any{"env": map[string]any{"MY_SETTING": "from-the-connection"}},
			refused:     "${SOME_CLOUD_SECRET}",
			wantMessage: []string{"${SOME_CLOUD_SECRET}, which this tester does not take from its environment", "HOME, PATH, TMPDIR, USER"},
			allowed:     "${MY_SETTING} in ${HOME}",
			wantSent:    "from-the-connection in " + os.Getenv("HOME"),
			secret:      "cloud-SECRET",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			h := newHost(t, tt.opts)
			h.connect(exampleserver.ModeNormal, tt.connect)

			env := h.runEcho(tt.refused, tt.expect)
			assert.Equal(t, "invalid_arguments", errType(env))
			for _, want := range tt.wantMessage {
				assert.Contains(t, get(env, "error", "message"), want)
			}
			assert.Contains(t, get(env, "error", "suggestion"), tt.wantSuggestion)

			env = h.runEcho(tt.allowed, tt.expect)
			require.Equal(t, true, env["passed"], "the other variables are expanded: %v", env)
			if tt.wantSent != "" {
				assert.Equal(t, tt.wantSent, get(env, "report", "checks", 1, "arguments", "message"))
			}
			for _, out := range h.rawOutputs() {
				assert.NotContains(t, out, tt.secret)
			}
		})
	}
}
