package tools

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

func TestSecretsEchoedWithOddEscapesAreMasked(t *testing.T) {
	const secret = "tok/SECRET-e5c4p3d"
	h := newHost(t, nil)
	env := h.call("connect", map[string]any{"command": os.Args[0], "env": map[string]any{hostile.Behaviour: hostile.EscapedEcho, "HOSTILE_SECRET": secret}})
	require.Equal(t, true, env["success"], "%v", env)
	env = h.call("call_tool", map[string]any{"name": hostile.Tool})
	require.Equal(t, true, env["success"], "%v", env)
	assert.Equal(t, "token is ***", get(env, "tool_call", "text"))
	env = h.call("get_notifications", nil)
	require.Equal(t, true, env["success"], "%v", env)
	b, err := json.Marshal(env)
	require.NoError(t, err)
	assert.Contains(t, string(b), "token is ***", "the log notification is there, masked")
	for _, out := range h.rawOutputs() {
		var v any
		require.NoError(t, json.Unmarshal([]byte(out), &v))
		decoded, err := json.Marshal(v)
		require.NoError(t, err)
		assert.NotContains(t, strings.ReplaceAll(string(decoded), `\/`, "/"), secret)
		assert.NotContains(t, out, `\u0074\u006f\u006b`)
	}
}

func TestURLUserInfoEchoedAsBasicAuthIsMasked(t *testing.T) {
	base := startHTTPTarget(t)
	h := newHost(t, nil)
	u := strings.Replace(base, "http://", "http://alice:pw-SECRET-77@", 1) + "/mcp"
	env := h.call("connect", map[string]any{"url": u, "headers": map[string]any{"X-Tenant": "example"}})
	require.Equal(t, true, env["success"], "%v", env)
	env = h.call("call_tool", map[string]any{"name": "headers"})
	require.Equal(t, true, env["success"], "%v", env)
	text, _ := get(env, "tool_call", "text").(string)
	assert.Contains(t, text, "Basic ***", "the target saw Basic credentials, shown masked")
	assert.Contains(t, text, "example", "a plain header's value is not a secret")
	env = h.call("export_checks", nil)
	require.Equal(t, true, env["success"], "%v", env)
	assert.Equal(t, "example", get(env, "spec", "target", "headers", "X-Tenant"), "an exported spec keeps a plain header as it is")
	for _, out := range h.rawOutputs() {
		assert.NotContains(t, out, "YWxpY2U6cHctU0VDUkVULTc3", "base64(alice:pw-SECRET-77)")
		assert.NotContains(t, out, "pw-SECRET-77")
	}
}

func TestRunChecksStartsOnlyWhatThePolicyAllows(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	h := newHost(t, &hostOptions{policy: &connmgr.CommandPolicy{Allow: []string{os.Args[0]}}})
	env := h.call("run_checks", map[string]any{"spec": map[string]any{
		"target": map[string]any{"command": "/bin/sh", "args": []any{"-c", "touch " + marker}},
		"steps":  []any{map[string]any{"ping": true}},
	}})
	assert.Equal(t, "invalid_arguments", errType(env), "%v", env)
	assert.Contains(t, get(env, "error", "message"), "is not one of the allowed programs")
	assert.Contains(t, get(env, "error", "message"), "nothing was started")
	_, err := os.Stat(marker)
	assert.ErrorIs(t, err, os.ErrNotExist, "no process ran")

	env = h.call("run_checks", map[string]any{"spec": map[string]any{
		"target": map[string]any{"command": os.Args[0], "env": map[string]any{hostile.Behaviour: hostile.ExampleServer, "LD_PRELOAD": "/tmp/evil.so"}},
		"steps":  []any{map[string]any{"ping": true}},
	}})
	assert.Equal(t, "invalid_arguments", errType(env), "env is checked too: %v", env)

	h.connect(exampleserver.ModeNormal, nil)
	env = h.call("run_checks", map[string]any{"spec": map[string]any{"steps": []any{map[string]any{"ping": true}}}})
	assert.Equal(t, true, env["passed"], "the allowed target runs: %v", env)
}

func TestRunChecksUsesTheHostsLimits(t *testing.T) {
	h := newHost(t, &hostOptions{maxMessageBytes: 1 << 20})
	h.connect(exampleserver.ModeFaults, nil)
	env := h.call("run_checks", map[string]any{"spec": map[string]any{"steps": []any{
		map[string]any{"call_tool": "huge", "arguments": map[string]any{"size_bytes": 2 << 20}},
	}}})
	require.Equal(t, true, env["success"], "%v", env)
	assert.Equal(t, false, env["passed"], "a 2 MiB answer is over this host's 1 MiB message cap, not connmgr's default 32 MiB")
	b, _ := json.Marshal(get(env, "report", "checks", 1))
	assert.Contains(t, string(b), "over the 1 MiB limit", "the failure names the host's limit")
}

func TestRemoteRunChecksReadsAndWritesNoClientPath(t *testing.T) {
	outside := t.TempDir()
	secretFile := filepath.Join(outside, "shadow")
	require.NoError(t, os.WriteFile(secretFile, []byte("root:$6$SECRETLINE:19000:0:99999:7:::\n"), 0o600))

	t.Run("without a workdir every path is refused", func(t *testing.T) {
		h := newHost(t, &hostOptions{remote: true})
		h.connect(exampleserver.ModeNormal, nil)
		env := h.call("run_checks", map[string]any{"spec_path": secretFile})
		assert.Equal(t, "invalid_arguments", errType(env))
		assert.Contains(t, get(env, "error", "message"), "spec_path is refused")
		assert.Contains(t, get(env, "error", "suggestion"), `{"spec": {...}}`)
		written := filepath.Join(outside, "out.yaml")
		env = h.call("export_checks", map[string]any{"path": written})
		assert.Equal(t, "invalid_arguments", errType(env))
		_, err := os.Stat(written)
		assert.ErrorIs(t, err, os.ErrNotExist)
		env = h.call("export_checks", nil)
		assert.Equal(t, true, env["success"], "without path the spec is returned: %v", env)
	})

	t.Run("with a workdir only paths inside it", func(t *testing.T) {
		work, err := filepath.EvalSymlinks(t.TempDir())
		require.NoError(t, err)
		require.NoError(t, os.Symlink(secretFile, filepath.Join(work, "link.yaml")))
		require.NoError(t, os.Symlink(outside, filepath.Join(work, "out")))
		require.NoError(t, os.WriteFile(filepath.Join(work, "bad.yaml"), []byte("root:$6$SECRETLINE:19000:0:99999:7:::\n"), 0o600))
		h := newHost(t, &hostOptions{remote: true, workdir: work})
		h.connect(exampleserver.ModeNormal, nil)
		h.call("call_tool", map[string]any{"name": "echo", "arguments": map[string]any{"message": "hi"}})

		env := h.call("export_checks", map[string]any{"path": "checks.yaml"})
		require.Equal(t, true, env["success"], "%v", env)
		assert.Equal(t, "checks.yaml", env["path"], "the client's own path, not the server's")
		assert.NotContains(t, get(env, "message"), work)
		env = h.call("run_checks", map[string]any{"spec_path": "checks.yaml"})
		assert.Equal(t, true, env["passed"], "%v", env)

		for _, p := range []string{secretFile, "../" + filepath.Base(outside) + "/shadow", "link.yaml", "out/shadow"} {
			env = h.call("run_checks", map[string]any{"spec_path": p})
			assert.Equal(t, "invalid_arguments", errType(env), p)
			assert.Contains(t, get(env, "error", "message"), "inside this tester's working directory", p)
		}
		for _, p := range []string{"link.yaml", "out/new.yaml", "../x.yaml"} {
			env = h.call("export_checks", map[string]any{"path": p})
			assert.Equal(t, "invalid_arguments", errType(env), p)
		}
		_, err = os.Stat(filepath.Join(outside, "new.yaml"))
		assert.ErrorIs(t, err, os.ErrNotExist, "nothing was written outside")
		b, err := os.ReadFile(secretFile)
		require.NoError(t, err)
		assert.Contains(t, string(b), "SECRETLINE", "the file behind the symlink is untouched")

		env = h.call("run_checks", map[string]any{"spec_path": "bad.yaml"})
		assert.Equal(t, "invalid_arguments", errType(env))
		assert.Contains(t, get(env, "error", "message"), "line 1")
		for _, out := range h.rawOutputs() {
			assert.NotContains(t, out, "SECRETLINE", "no error quotes the file")
			assert.NotContains(t, out, work, "no answer names the server's workdir")
		}
	})
}
