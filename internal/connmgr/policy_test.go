package connmgr

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

func TestCommandPolicyRefusesBeforeStarting(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	marker := filepath.Join(t.TempDir(), "ran")
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	touch := []string{"-c", "touch " + marker}
	allowExe := &CommandPolicy{Allow: []string{exe}}
	tests := []struct {
		name   string
		policy *CommandPolicy
		spec   Spec
		want   string // "" when allowed
	}{
		{"a program not allowed is refused", allowExe, Spec{Command: "sh", Args: touch}, "is not one of the allowed programs"},
		{"its absolute path is refused too", allowExe, Spec{Command: sh, Args: touch}, "is not one of the allowed programs"},
		{"an executable script given as url is refused", allowExe, Spec{URL: sh, Args: touch}, "is not one of the allowed programs"},
		{"no-stdio refuses every program", &CommandPolicy{NoStdio: true}, exampleSpec(t, "normal"), "stdio targets are disabled"},
		{"the allowed program runs", allowExe, exampleSpec(t, "normal"), ""},
		{"nil allows everything", nil, exampleSpec(t, "normal"), ""},
		{"a harmless env variable is fine", allowExe, withEnv(exampleSpec(t, "normal"), "APP_MODE"), ""},
	}
	for _, name := range []string{"LD_PRELOAD", "DYLD_INSERT_LIBRARIES", "BASH_ENV", "BASH_FUNC_x%%", "ENV", "NODE_OPTIONS",
		"OPENSSL_CONF", "PYTHONSTARTUP", "PERL5OPT", "RUBYOPT", "GCONV_PATH", "PATH"} {
		tests = append(tests, struct {
			name   string
			policy *CommandPolicy
			spec   Spec
			want   string
		}{"env " + name + " is refused under a policy", allowExe, withEnv(exampleSpec(t, "normal"), name), "the environment variable " + name})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, &Options{Policy: tt.policy})
			_, _, err := m.Connect(t.Context(), tt.spec)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrRefused)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "nothing was started")
			_, err = os.Stat(marker)
			assert.ErrorIs(t, err, os.ErrNotExist, "no process ran")
		})
	}
}

func TestARestrictedTesterDoesNotTellWhichFilesExist(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "secret.conf")
	require.NoError(t, os.WriteFile(existing, []byte("x"), 0o600))
	script := filepath.Join(dir, "x.py")
	require.NoError(t, os.WriteFile(script, []byte("print(1)\n"), 0o600))
	binary, err := exec.LookPath("sh")
	require.NoError(t, err)
	missing := filepath.Join(dir, "missing")
	// Pairs of specs that differ only in whether a file exists; within a
	// pair the client's own string is the same, so the refusals must be
	// byte-identical.
	pairs := []struct {
		name              string
		existing, missing Spec
	}{
		{"a script", Spec{URL: script}, Spec{URL: filepath.Join(dir, "y.py")}},
		{"a file given as url", Spec{URL: existing}, Spec{URL: missing}},
		{"a directory given as url", Spec{URL: dir}, Spec{URL: missing}},
		{"a binary", Spec{Command: binary}, Spec{Command: filepath.Join(dir, "sh")}},
		{"a file given as command", Spec{Command: existing}, Spec{Command: missing}},
		{"a program on PATH", Spec{Command: "sh"}, Spec{Command: "no-such-program-here"}},
		{"the working directory", Spec{Command: binary, Cwd: dir}, Spec{Command: binary, Cwd: missing}},
		{"a relative program in the working directory", Spec{Command: "./x.py", Cwd: dir}, Spec{Command: "./x.py", Cwd: missing}},
	}
	for _, policy := range []*CommandPolicy{{NoStdio: true}, {Allow: []string{"node"}}} {
		m := newManager(t, &Options{Policy: policy})
		for _, pair := range pairs {
			t.Run(fmt.Sprintf("%s, no-stdio %v", pair.name, policy.NoStdio), func(t *testing.T) {
				var msgs []string
				for _, spec := range []Spec{pair.existing, pair.missing} {
					_, _, err := m.Connect(t.Context(), spec)
					require.ErrorIs(t, err, ErrRefused, "%+v", spec)
					msg := err.Error()
					given := spec.Command + spec.URL
					if !policy.NoStdio {
						assert.Contains(t, msg, strconv.Quote(given), "the refusal quotes what the client gave")
					}
					msg = strings.Replace(msg, strconv.Quote(given), `"PROGRAM"`, 1)
					assert.NotContains(t, msg, dir, "the refusal names no resolved path")
					assert.NotContains(t, msg, "python", "nor the tester's interpreter")
					msgs = append(msgs, msg)
				}
				assert.Equal(t, msgs[0], msgs[1], "the same refusal whether the file exists or not")
			})
		}
	}
}

func TestAnAllowedProgramIsToldOfAMissingWorkingDirectory(t *testing.T) {
	spec := exampleSpec(t, "normal")
	spec.Cwd = filepath.Join(t.TempDir(), "missing")
	m := newManager(t, &Options{Policy: &CommandPolicy{Allow: []string{spec.Command}}})
	_, _, err := m.Connect(t.Context(), spec)
	var se *SpawnError
	require.ErrorAs(t, err, &se)
	assert.Contains(t, err.Error(), "does not exist or is not a directory")
}

func withEnv(s Spec, name string) Spec {
	s.Env = maps.Clone(s.Env)
	s.Env[name] = "/tmp/evil"
	return s
}

// TestEveryStartPassesThePolicy runs a target found on PATH as "prog",
// allowed in one directory; when PATH then finds "prog" elsewhere, the
// same Spec resolves to a program the policy does not allow, and reconnect
// and the automatic reconnect both refuse it.
func TestEveryStartPassesThePolicy(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	allowed, other := t.TempDir(), t.TempDir()
	for _, dir := range []string{allowed, other} {
		require.NoError(t, os.Symlink(exe, filepath.Join(dir, "prog")))
	}
	path := os.Getenv("PATH")
	t.Setenv("PATH", allowed+string(os.PathListSeparator)+path)
	policy := &CommandPolicy{Allow: []string{filepath.Join(allowed, "prog")}}
	spec := Spec{Command: "prog", Args: []string{"--mode", "faults"}, Env: hostile.Env(hostile.ExampleServer)}

	t.Run("reconnect", func(t *testing.T) {
		t.Setenv("PATH", allowed+string(os.PathListSeparator)+path)
		m := newManager(t, &Options{Policy: policy})
		connect(t, m, spec)
		t.Setenv("PATH", other+string(os.PathListSeparator)+path)
		_, err := m.Reconnect(t.Context())
		require.ErrorIs(t, err, ErrRefused)
		assert.Contains(t, err.Error(), `"prog" is not one of the allowed programs`)
		assert.NotContains(t, err.Error(), other, "the refusal names no resolved path")
		assert.True(t, m.Status().Connected, "the old connection stays")
	})
	t.Run("automatic reconnect", func(t *testing.T) {
		t.Setenv("PATH", allowed+string(os.PathListSeparator)+path)
		m := newManager(t, &Options{Policy: policy})
		s := spec
		s.AutoReconnect, s.MaxReconnectAttempts, s.ReconnectDelay = true, 1, time.Millisecond
		connect(t, m, s)
		t.Setenv("PATH", other+string(os.PathListSeparator)+path)
		_, _ = m.CallTool(t.Context(), "crash", nil, 0)
		require.Eventually(t, func() bool {
			r := m.Status().Reconnect
			return r != nil && r.State == StatusError
		}, 10*time.Second, 10*time.Millisecond)
		assert.Contains(t, m.Status().Reconnect.LastError, "refused by the command policy")
	})
}

func TestTargetsNeverInheritTheTestersSecrets(t *testing.T) {
	secrets := []string{"LLM_API_KEY", "MCP_TEST_AUTH_TOKEN", "MCP_TEST_BEARER_TOKEN", "MCP_TEST_OAUTH_CLIENT_SECRET"}
	for _, name := range secrets {
		t.Setenv(name, "tester-secret-"+strings.ToLower(name))
	}
	t.Setenv("MCP_TEST_CALL_TIMEOUT", "61")
	m := newManager(t, nil)
	connect(t, m, exampleSpec(t, "faults"))
	for _, name := range secrets {
		r, err := m.CallTool(t.Context(), "env", map[string]any{"name": name}, 0)
		require.NoError(t, err)
		assert.True(t, r.Result.IsError, "%s reached the target: %s", name, text(t, r))
		assert.Contains(t, text(t, r), "is not set")
	}
	r, err := m.CallTool(t.Context(), "env", map[string]any{"name": "MCP_TEST_CALL_TIMEOUT"}, 0)
	require.NoError(t, err)
	assert.Equal(t, "61", text(t, r), "the tester's other settings are inherited")
}
