package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCheckCommand runs `mcp-test-mcp check args...` and returns its exit
// code, stdout and stderr.
func runCheckCommand(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	return runBinary(t, env, append([]string{"check"}, args...)...)
}

func writeSpec(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "checks.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

func TestCheckCommand(t *testing.T) {
	t.Parallel()
	example := []string{"--", binary, "example-server"}
	tests := []struct {
		name       string
		args       []string
		env        []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{
			name:       "a plain check passes and reports the surface",
			args:       example,
			wantStdout: []string{"✓ list_tools", "✓ ping", "surface: 9 tools", "PASSED"},
			wantStderr: []string{"[1/6] connect … ok", "[2/6] list_tools … ok", "[6/6] ping … ok"}, // the connect check counts, as in the summary
		},
		{
			name:       "the default example server passes call-all and the audit",
			args:       []string{"--call-all", "--audit", "--sampling-response", "hi", "--", binary, "example-server"},
			wantStdout: []string{"✓ call_tool echo", "✓ call_tool sample", "- call_tool destructive_reset", "✓ audit", "PASSED: 16 checks, 15 passed, 0 failed, 1 skipped in"},
		},
		{
			name:       "MCP_TEST_BEARER_TOKEN in the environment does not refuse a command target",
			args:       example,
			env:        []string{"MCP_TEST_BEARER_TOKEN=env-token-for-http-only"},
			wantStdout: []string{"✓ list_tools", "PASSED"},
		},
		{
			name:       "help documents the exit codes",
			args:       []string{"--help"},
			wantStdout: []string{"Exit codes:", "3    the target could not be started", "130  SIGINT or SIGTERM", "${NAME} in a spec is read from the whole environment"},
		},
		{
			name: "a failing expectation exits 1 naming the step, the expectation and the answer",
			args: append([]string{"--spec", writeSpec(t, `
steps:
  - call_tool: echo
    arguments: {message: hello}
    expect: {text_contains: goodbye}
`)}, example...),
			wantCode:   1,
			wantStdout: []string{"✗ call_tool echo", "spec line 3", "text_contains", `expected: "goodbye"`, `got:      text "hello"`, "FAILED"},
			wantStderr: []string{"1 of 2 checks failed"},
		},
		{
			name:       "an unknown key exits 2 naming the line",
			args:       append([]string{"--spec", writeSpec(t, "steps:\n  - call_tool: echo\n    expects: {}\n")}, example...),
			wantCode:   2,
			wantStderr: []string{`checks.yaml:3: unknown key "expects" in a step`},
		},
		{
			name:       "bad YAML exits 2 naming the line",
			args:       append([]string{"--spec", writeSpec(t, "steps:\n  - call_tool: echo\n    expect: is_error: true\n")}, example...),
			wantCode:   2,
			wantStderr: []string{"checks.yaml:3: mapping values are not allowed"},
		},
		{
			name:       "a missing variable exits 2 naming it",
			args:       []string{"--spec", writeSpec(t, "target: {url: 'http://127.0.0.1:1/mcp', bearer_token: '${CHECK_TEST_UNSET_TOKEN}'}\n")},
			wantCode:   2,
			wantStderr: []string{"CHECK_TEST_UNSET_TOKEN is not set"},
		},
		{
			name:       "no target is a usage error",
			args:       []string{"--call-all"},
			wantCode:   2,
			wantStderr: []string{"check needs a target"},
		},
		{
			name:       "a flag that does not fit the target gets connmgr's one message",
			args:       []string{"--header", "X-A=b", "--", binary, "example-server"},
			wantCode:   2,
			wantStderr: []string{"headers and bearer_token apply only to HTTP targets"},
		},
		{
			name:       "an unstartable target exits 3 with its stderr tail",
			args:       []string{"--", binary, "example-server", "--mode", "exit-before-init"},
			wantCode:   3,
			wantStdout: []string{"could not connect", "fatal: missing configuration file example.toml"},
			wantStderr: []string{"could not start or reach the target"},
		},
		{
			name:       "call-all calls the tools and puts isError down to the generated arguments",
			args:       []string{"--call-all", "--skip", "hang,crash,stop_reading,huge", "--sampling-response", "hi", "--", binary, "example-server", "--mode", "faults"},
			wantCode:   1,
			wantStdout: []string{"✓ call_tool echo", "! call_tool fail", "isError: true to generated arguments, which may be wrong", "✗ call_tool bad_structured", "- call_tool destructive_reset", "✓ call_tool sample", "1 failed, 5 skipped, 2 warnings"},
		},
		{
			name:       "--strict fails a tool that answers isError",
			args:       []string{"--call-all", "--strict", "--skip", "hang,crash,stop_reading,huge,bad_structured,env,sample", "--", binary, "example-server", "--mode", "faults"},
			wantCode:   1,
			wantStdout: []string{"✗ call_tool fail", "isError: true with generated arguments"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCheckCommand(t, tc.env, tc.args...)
			assert.Equal(t, tc.wantCode, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			for _, w := range tc.wantStdout {
				assert.Contains(t, stdout, w)
			}
			for _, w := range tc.wantStderr {
				assert.Contains(t, stderr, w)
			}
			assert.NotContains(t, stdout, "\x1b[", "no colour when stdout is not a terminal")
		})
	}
}

func TestCheckCommandHelpOnce(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCheckCommand(t, nil, "--help")
	assert.Equal(t, 0, code)
	assert.Equal(t, 1, strings.Count(stdout, "Usage: mcp-test-mcp check"), stdout)
	assert.Empty(t, stderr, "help goes to stdout only")
}

func TestCheckCommandSaysAnErrorOncePerPlace(t *testing.T) {
	t.Parallel()
	const why = "the target process exited with status 3"
	for _, quiet := range []bool{false, true} {
		args := []string{"--", binary, "example-server", "--mode", "exit-before-init"}
		if quiet {
			args = append([]string{"--quiet"}, args...)
		}
		code, stdout, stderr := runCheckCommand(t, nil, args...)
		require.Equal(t, 3, code, stdout+stderr)
		assert.Equal(t, 1, strings.Count(stdout, why), "once in the report:\n%s", stdout)
		assert.Equal(t, 1, strings.Count(stderr, why), "once on stderr (quiet=%v):\n%s", quiet, stderr)
		assert.Contains(t, stdout, "stderr tail of the target:\n  | fatal: missing configuration file example.toml")
	}
}

func TestCheckCommandJSONAndJUnitAgree(t *testing.T) {
	t.Parallel()
	junitPath := filepath.Join(t.TempDir(), "report.xml")
	code, stdout, stderr := runCheckCommand(t, nil, "--format", "json", "--junit", junitPath, "--call-all",
		"--skip", "hang,crash,stop_reading,huge,sample", "--", binary, "example-server", "--mode", "faults")
	require.Equal(t, 1, code, stderr)
	var rep struct {
		Summary struct{ Total, Passed, Failed, Skipped int }
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	b, err := os.ReadFile(junitPath)
	require.NoError(t, err)
	var junit struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
	}
	require.NoError(t, xml.Unmarshal(b, &junit))
	assert.Equal(t, rep.Summary.Total, junit.Tests)
	assert.Equal(t, rep.Summary.Failed, junit.Failures)
	assert.Equal(t, rep.Summary.Skipped, junit.Skipped)
	assert.Equal(t, strings.Count(stderr, " … "), rep.Summary.Total, "one progress line per check")
}

func TestCheckCommandSecretsStayOut(t *testing.T) {
	t.Parallel()
	const secret = "hdr-SECRET-3c3c"
	base := startHTTPExampleProcess(t, "--require-token", secret)
	code, stdout, stderr := runCheckCommand(t, []string{"MCP_TEST_BEARER_TOKEN=" + secret}, "--format", "json", "--header", "X-Tenant="+secret, base+"/mcp")
	require.Equal(t, 0, code, stdout+stderr)
	assert.NotContains(t, stdout+stderr, secret)
	code, stdout, stderr = runCheckCommand(t, nil, "--bearer-token", "wrong-"+secret, base+"/mcp")
	assert.Equal(t, 3, code)
	assert.NotContains(t, stdout+stderr, secret)
}

func TestCheckCommandReportComesFirst(t *testing.T) {
	t.Parallel()
	junit := filepath.Join(t.TempDir(), "missing", "report.xml")
	code, stdout, stderr := runCheckCommand(t, nil, "--junit", junit, "--", binary, "example-server")
	assert.Equal(t, 2, code, "an unwritable report is exit 2, even on a green run")
	assert.Contains(t, stdout, "PASSED", "the report on stdout is printed all the same")
	assert.Contains(t, stderr, "could not write the JUnit report to "+junit)
}

func TestCheckCommandInterrupted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		first    string
		sig      os.Signal
		wantCode int
		wantMsg  string
	}{
		{"nothing failed: 130", `expect: {text_contains: hi}`, os.Interrupt, 130, "interrupted: 2 of 4 checks skipped"},
		{"a check failed before: 1", `expect: {text_contains: bye}`, syscall.SIGTERM, 1, "1 of 4 checks failed before the run was interrupted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := writeSpec(t, `
steps:
  - call_tool: echo
    arguments: {message: hi}
    `+tc.first+`
  - call_tool: hang
  - call_tool: echo
    arguments: {message: after}
`)
			cmd := exec.Command(binary, "check", "--spec", spec, "--", binary, "example-server", "--mode", "faults")
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			stderrPipe, err := cmd.StderrPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			// The hang step is running once the echo step has reported.
			var stderr strings.Builder
			sc := bufio.NewScanner(stderrPipe)
			for sc.Scan() {
				stderr.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "call_tool echo …") {
					break
				}
			}
			require.NoError(t, cmd.Process.Signal(tc.sig))
			rest, _ := io.ReadAll(stderrPipe)
			stderr.Write(rest)
			err = cmd.Wait()
			var exitErr *exec.ExitError
			require.True(t, errors.As(err, &exitErr), "%v\n%s", err, stderr.String())
			assert.Equal(t, tc.wantCode, exitErr.ExitCode(), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			assert.Contains(t, stderr.String(), tc.wantMsg)
			assert.Contains(t, stdout.String(), "- call_tool hang")
			assert.Contains(t, stdout.String(), "skipped: interrupted")
			assert.NotContains(t, stdout.String(), "internal_error")
		})
	}
}

// TestCheckReportsHideSecretFlags: a secret-looking flag's value on the
// target's command line is masked in every report format and on stderr.
func TestCheckReportsHideSecretFlags(t *testing.T) {
	t.Parallel()
	const secret = "sk-live-SECRET-7788"
	junit := filepath.Join(t.TempDir(), "report.xml")
	for _, format := range []string{"text", "json"} {
		code, stdout, stderr := runCheckCommand(t, nil, "--format", format, "--junit", junit, "--", "/bin/sh", "-c", "exit 3", "x", "--api-key="+secret)
		assert.Equal(t, 3, code, format)
		assert.NotContains(t, stdout+stderr, secret, format)
		assert.Contains(t, stdout, "--api-key=***", format)
		xml, err := os.ReadFile(junit)
		require.NoError(t, err)
		assert.NotContains(t, string(xml), secret)
	}
}
