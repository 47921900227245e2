package main

import (
	"os"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/procgroup"
)

func TestAKilledTesterTakesItsTargetsProcessesWithIt(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	tt := startTester(t)
	// The target (this test binary, see TestMain) leaves a process in its
	// group and a setsid daemon outside it, and writes their pids to stderr.
	env := tt.call(t, "connect", map[string]any{"command": exe, "env": map[string]any{hostile.Behaviour: hostile.Stragglers}})
	require.Equal(t, true, env["success"], "%v", env)
	pgid := int(env["connection"].(map[string]any)["process"].(map[string]any)["pid"].(float64))
	pids := map[string]int{}
	require.Eventually(t, func() bool {
		tail, _ := tt.call(t, "status", nil)["stderr_tail"].([]any)
		for _, l := range tail {
			if m := regexp.MustCompile(`^(daemon|member) pid (\d+)$`).FindStringSubmatch(l.(string)); m != nil {
				pids[m[1]], _ = strconv.Atoi(m[2])
			}
		}
		return len(pids) == 2
	}, 10*time.Second, 20*time.Millisecond, "the target writes its strays' pids")
	daemon, member := pids["daemon"], pids["member"]
	t.Cleanup(func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		_ = syscall.Kill(daemon, syscall.SIGKILL)
	})
	require.True(t, procgroup.Running(daemon) && procgroup.Running(member) && procgroup.Alive(pgid), "the target and what it started run")

	require.NoError(t, tt.cmd.Process.Kill())
	<-tt.done
	require.Eventually(t, func() bool { return !procgroup.Alive(pgid) }, 10*time.Second, 20*time.Millisecond,
		"no process of the target's group (pid %d, member %d) is left", pgid, member)
	require.Eventually(t, func() bool { return !procgroup.Running(daemon) }, 10*time.Second, 20*time.Millisecond,
		"the setsid daemon %d is gone", daemon)
}
