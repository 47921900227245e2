package connmgr

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
)

// ErrRefused wraps every refusal by a CommandPolicy. Nothing was started.
var ErrRefused = errors.New("refused by the command policy")

// CommandPolicy restricts what a Manager may start for stdio targets. It is
// checked once, in the Manager, on the program exactly as it will be
// executed, for every start: Connect, Reconnect and automatic reconnects.
// A nil *CommandPolicy allows every command.
type CommandPolicy struct {
	// NoStdio refuses every stdio target: only http(s) URLs.
	NoStdio bool
	// Allow lists the programs that may run. A bare name ("node") is looked
	// up on the tester's PATH; a path is taken relative to the tester's
	// working directory. A program matches when it is that file under the
	// same name (symlinked directories are followed, a symlink of another
	// name is not: a multi-call binary behaves after its name). A script
	// given as Spec.URL matches by its own path too. Empty allows every
	// program, but Spec.Env is still checked.
	Allow []string
}

// check refuses t when the policy does not allow it. It runs after resolve,
// so it sees the absolute path that will be executed, and before anything
// is started (and before the working directory is looked at).
func (p *CommandPolicy) check(t *target, spec Spec) error {
	if p == nil || t.transport != TransportStdio {
		return nil
	}
	if p.NoStdio {
		return p.refusal(spec)
	}
	if len(p.Allow) > 0 && !p.allows(t.path) && (t.script == "" || !p.allows(t.script)) {
		return p.refusal(spec)
	}
	var names []string
	for name := range spec.Env {
		if injectsCode(name) {
			names = append(names, name)
		}
	}
	if len(names) > 0 {
		slices.Sort(names)
		return fmt.Errorf("%w: the environment variable %s could make an allowed program load or run other code; nothing was started",
			ErrRefused, strings.Join(names, ", "))
	}
	return nil
}

// unresolved is the error of a stdio target that could not be resolved
// (no such program or script, not executable, no interpreter) under the
// policy: the refusal of a program that is not allowed, so that a client of
// a restricted tester cannot probe which files exist. Other errors are
// returned as they are.
func (p *CommandPolicy) unresolved(err error, spec Spec) error {
	if p == nil {
		return err
	}
	if _, ok := errors.AsType[*SpawnError](err); !ok {
		return err
	}
	return p.refusal(spec)
}

// refusal is the one refusal of a stdio target. It quotes only what the
// client gave (command, or url for a script), never what the tester
// resolved it to: whether a file exists, and where the tester's
// interpreters are, is none of a refused client's business.
func (p *CommandPolicy) refusal(spec Spec) error {
	if p.NoStdio {
		return fmt.Errorf("%w: stdio targets are disabled on this tester; nothing was started", ErrRefused)
	}
	given := spec.Command
	if given == "" {
		given = spec.URL
	}
	var secrets redact.Secrets
	secrets.Add(spec.Secrets()...)
	return fmt.Errorf("%w: %q is not one of the allowed programs (%s); nothing was started",
		ErrRefused, secrets.Scrub(given), strings.Join(p.Allow, ", "))
}

// allows reports whether the program at path (absolute) is allowed.
func (p *CommandPolicy) allows(path string) bool {
	path = filepath.Clean(path)
	for _, a := range p.Allow {
		want := a
		if !strings.Contains(a, "/") {
			lp, err := exec.LookPath(a)
			if err != nil {
				continue
			}
			want = lp
		}
		want, err := filepath.Abs(want)
		if err != nil {
			continue
		}
		if want == path {
			return true
		}
		if filepath.Base(want) != filepath.Base(path) {
			continue
		}
		// The same name in a directory reached through a symlink
		// (/bin → /usr/bin).
		wd, err1 := filepath.EvalSymlinks(filepath.Dir(want))
		pd, err2 := filepath.EvalSymlinks(filepath.Dir(path))
		if err1 == nil && err2 == nil && wd == pd {
			return true
		}
	}
	return false
}

// codePrefixes and codeNames are the environment variables that make a
// program load or run code other than its own: the dynamic loader's,
// shells', interpreters', package runners' and libraries' hooks. Under a
// CommandPolicy, Spec.Env may not set them: allowing a program would mean
// nothing if they were allowed.
var (
	codePrefixes = []string{
		"LD_", "DYLD_", "BASH_FUNC_", "PYTHON", "PERL", "RUBY", "NODE_", "NPM_CONFIG_", "UV_", "PIP_",
		"GIT_", "JAVA_", "_JAVA_", "JDK_JAVA_", "GCONV_", "DENO_", "BUN_", "OPENSSL_", "DOTNET_",
	}
	codeNames = []string{
		"PATH", "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "IFS", "CDPATH", "HOME",
		"XDG_CONFIG_HOME", "TMPDIR", "GLIBC_TUNABLES", "LOCPATH", "NLSPATH", "GOFLAGS", "GOENV",
		"GOTOOLCHAIN", "RUSTC_WRAPPER", "CORECLR_PROFILER",
	}
)

// injectsCode reports whether the environment variable name can make a
// program run other code (see codePrefixes).
func injectsCode(name string) bool {
	n := strings.ToUpper(name)
	for _, p := range codePrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return slices.Contains(codeNames, n)
}

// IsTesterSecret reports whether the inherited environment variable name is
// one of the tester's own credentials, which no target gets: LLM_API_KEY and
// every secret-looking MCP_TEST_* variable (MCP_TEST_AUTH_TOKEN,
// MCP_TEST_BEARER_TOKEN, MCP_TEST_OAUTH_CLIENT_SECRET...).
func IsTesterSecret(name string) bool {
	n := strings.ToUpper(name)
	return n == "LLM_API_KEY" || strings.HasPrefix(n, "MCP_TEST_") && redact.IsSecretName(strings.TrimPrefix(n, "MCP_TEST_"))
}

// inheritedEnv is the tester's environment as a target inherits it: without
// the tester's own credentials.
func inheritedEnv(environ []string) []string {
	return slices.DeleteFunc(environ, func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return IsTesterSecret(name)
	})
}
