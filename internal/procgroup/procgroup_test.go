package procgroup

import (
	"os/exec"
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
