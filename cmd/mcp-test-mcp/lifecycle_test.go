package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/procgroup"
)

// stragglerScript is a stdio target that leaves a process in its group and
// a setsid daemon outside it, writes their pids beside itself, and then
// serves the example server.
const stragglerScript = `#!/bin/sh
dir=$(dirname "$0")
setsid sleep 300 </dev/null >/dev/null 2>&1 &
echo $! >"$dir/daemon.pid"
sleep 300 </dev/null >/dev/null 2>&1 &
echo $! >"$dir/member.pid"
exec "$TESTER_BINARY" example-server
`

func TestAKilledTesterTakesItsTargetsProcessesWithIt(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "target.sh")
	require.NoError(t, os.WriteFile(script, []byte(stragglerScript), 0o755))

	tt := startTester(t)
	env := tt.call(t, "connect", map[string]any{"command": script, "env": map[string]any{"TESTER_BINARY": binary}})
	require.Equal(t, true, env["success"], "%v", env)
	pgid := int(env["connection"].(map[string]any)["process"].(map[string]any)["pid"].(float64))
	readPid := func(name string) int {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		require.NoError(t, err)
		return pid
	}
	daemon, member := readPid("daemon.pid"), readPid("member.pid")
	t.Cleanup(func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		_ = syscall.Kill(daemon, syscall.SIGKILL)
	})
	require.True(t, running(daemon) && running(member) && procgroup.Alive(pgid), "the target and what it started run")

	require.NoError(t, tt.cmd.Process.Kill())
	<-tt.done
	require.Eventually(t, func() bool { return !procgroup.Alive(pgid) }, 10*time.Second, 20*time.Millisecond,
		"no process of the target's group (pid %d, member %d) is left", pgid, member)
	require.Eventually(t, func() bool { return !running(daemon) }, 10*time.Second, 20*time.Millisecond,
		"the setsid daemon %d is gone", daemon)
}

// running reports whether pid is a live process (not a zombie).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}
