//go:build unix

package exampleserver

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exampleCommand runs this test binary as "mcp-test-mcp example-server ARGS"
// in its own process group; Cleanup kills the group.
func exampleCommand(t *testing.T, args ...string) (*exec.Cmd, *testtargets.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{subcommand}, args...)...)
	cmd.Env = append(os.Environ(), runAsExample+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	stderr := &testtargets.Buffer{}
	cmd.Stderr = stderr
	t.Cleanup(func() {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	return cmd, stderr
}

// connectCommand starts cmd and connects a client to its stdio.
func connectCommand(t *testing.T, cmd *exec.Cmd) *mcp.ClientSession {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := mcp.NewClient(&mcp.Implementation{Name: "exampleserver-test", Version: "0.0.1"}, nil)
	cs, err := c.Connect(t.Context(), &mcp.IOTransport{Reader: stdout, Writer: stdin},
		&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	return ee.ExitCode()
}

func TestProcessExits(t *testing.T) {
	t.Run("exit-before-init exits with status 3", func(t *testing.T) {
		cmd, stderr := exampleCommand(t, "--mode", "exit-before-init")
		assert.Equal(t, 3, exitCode(t, cmd.Run()))
		assert.Equal(t, "fatal: missing configuration file example.toml\n", stderr.String())
	})

	for _, tt := range exitCases {
		t.Run(tt.name, func(t *testing.T) {
			cmd, stderr := exampleCommand(t, tt.args...)
			cs := connectCommand(t, cmd)

			_, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tt.tool, Arguments: tt.toolArgs})
			assert.Error(t, err)
			assert.Equal(t, tt.wantCode, exitCode(t, cmd.Wait()))
			assert.Equal(t, tt.wantStderr, stderr.String())
		})
	}
}

// dead reports whether pid has exited. An orphan stays a zombie until init
// reaps it, which can take a while in containers, so a zombie counts as dead.
func dead(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	_, rest, ok := strings.Cut(string(stat), ") ")
	return ok && strings.HasPrefix(rest, "Z")
}

var grandchildRE = regexp.MustCompile(`grandchild pid (\d+)\n`)

func TestIgnoreSIGTERM(t *testing.T) {
	cmd, stderr := exampleCommand(t, "--mode", "ignore-sigterm")
	cs := connectCommand(t, cmd)
	pid := cmd.Process.Pid
	grandchild, err := strconv.Atoi(stderr.WaitFor(t, grandchildRE)[1])
	require.NoError(t, err)

	t.Run("the grandchild shares the child's process group", func(t *testing.T) {
		pgid, err := syscall.Getpgid(grandchild)
		require.NoError(t, err)
		assert.Equal(t, pid, pgid)
	})

	t.Run("the server survives SIGTERM", func(t *testing.T) {
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		// An ignored signal is discarded when sent, so an answer after the
		// send proves the process lives on.
		res := callTool(t, cs, "echo", map[string]any{"message": "still alive"})
		assert.Equal(t, "still alive", text(res))
	})

	t.Run("the grandchild survives SIGTERM", func(t *testing.T) {
		require.NoError(t, syscall.Kill(grandchild, syscall.SIGTERM))
		require.NoError(t, syscall.Kill(grandchild, 0))
	})

	t.Run("killing the group ends both", func(t *testing.T) {
		require.NoError(t, cs.Close())
		require.NoError(t, syscall.Kill(-pid, syscall.SIGKILL))
		assert.Equal(t, -1, exitCode(t, cmd.Wait()), "killed by a signal")
		require.Eventually(t, func() bool { return dead(grandchild) }, 5*time.Second, 2*time.Millisecond)
	})
}
