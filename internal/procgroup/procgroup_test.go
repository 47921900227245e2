package procgroup

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAliveFollowsTheGroupAndIgnoresZombies(t *testing.T) {
	// sh starts a sleeping grandchild in its group and waits on it.
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	pgid := cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL); _ = cmd.Wait() })

	assert.True(t, Alive(pgid), "a running group is alive")
	assert.False(t, WaitGone(pgid, 20*time.Millisecond), "waiting on a live group times out")

	require.NoError(t, syscall.Kill(-pgid, syscall.SIGKILL))
	_ = cmd.Wait()
	assert.True(t, WaitGone(pgid, 5*time.Second), "a killed group is gone even if a member is left a zombie")
	assert.False(t, Alive(pgid))
}

func TestStraysAreFoundByParentChainAndMarkerAndEnded(t *testing.T) {
	// sh starts a child that leaves its group with setsid, prints its pid
	// and waits on it.
	cmd := exec.Command("sh", "-c", "setsid sleep 30 & echo $!; wait")
	cmd.Env = append(os.Environ(), "PROCGROUP_TEST_MARK=on")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	pgid := cmd.Process.Pid
	var stray int
	_, err = fmt.Fscan(out, &stray)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = syscall.Kill(stray, syscall.SIGKILL)
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	pids := func(ps []Proc) []int {
		var out []int
		for _, p := range ps {
			out = append(out, p.PID)
		}
		return out
	}
	// setsid leaves the group before it execs sleep: wait for the exec.
	require.Eventually(t, func() bool {
		return slices.ContainsFunc(Strays(pgid, ""), func(p Proc) bool { return p.PID == stray && slices.Equal(p.Args, []string{"sleep", "30"}) })
	}, 5*time.Second, 5*time.Millisecond, "the child that left the group is found by its parent chain, with its command line")
	assert.Contains(t, pids(Strays(0, "PROCGROUP_TEST_MARK=on")), stray, "and by the marker it inherited")
	assert.NotContains(t, pids(Strays(0, "PROCGROUP_TEST_MARK=off")), stray, "a different marker does not match")

	assert.Empty(t, End([]Proc{{PID: stray}}, 5*time.Second), "a stray that takes SIGTERM is ended")
	assert.False(t, Running(stray))
}
