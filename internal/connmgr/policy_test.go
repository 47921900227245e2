package connmgr

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	for _, policy := range []*CommandPolicy{{NoStdio: true}, {Allow: []string{"node"}}} {
		m := newManager(t, &Options{Policy: policy})
		var msgs []string
		for _, spec := range []Spec{
			{URL: existing}, {URL: filepath.Join(dir, "missing")}, {URL: dir},
			{Command: existing}, {Command: filepath.Join(dir, "missing")},
		} {
			_, _, err := m.Connect(t.Context(), spec)
			require.ErrorIs(t, err, ErrRefused, "%+v", spec)
			msgs = append(msgs, err.Error())
		}
		for _, msg := range msgs {
			assert.Equal(t, msgs[0], msg, "the same refusal whether the file exists or not")
		}
	}
}

func withEnv(s Spec, name string) Spec {
	s.Env = map[string]string{name: "/tmp/evil"}
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
	spec := Spec{Command: "prog", Args: []string{"example-server", "--mode", "faults"}}

	t.Run("reconnect", func(t *testing.T) {
		t.Setenv("PATH", allowed+string(os.PathListSeparator)+path)
		m := newManager(t, &Options{Policy: policy})
		connect(t, m, spec)
		t.Setenv("PATH", other+string(os.PathListSeparator)+path)
		_, err := m.Reconnect(t.Context())
		require.ErrorIs(t, err, ErrRefused)
		assert.Contains(t, err.Error(), filepath.Join(other, "prog"))
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
