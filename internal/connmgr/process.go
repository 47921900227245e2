package connmgr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/procgroup"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// process supervises a stdio target: its pipes, its stderr ring and its
// whole process group. The target runs in a group of its own so that
// launchers (npx, uvx, sh -c) and their children end together.
type process struct {
	cmd    *exec.Cmd
	pid    int
	stdin  *os.File // our end of the child's stdin; supports write deadlines
	stdout *os.File // our end of the child's stdout
	stderr *ring

	// marker is the "NAME=value" entry added to the target's environment,
	// which its descendants inherit: it finds those that left the group.
	marker string
	guard  *guard // nil when no shell could be started for it

	stderrDone chan struct{} // closed when the stderr copier returns
	exited     chan struct{} // closed when the leader has been reaped
	exit       ExitInfo      // written before exited is closed; Code/Signal only
}

// TargetIDEnv names the environment variable, unique to each stdio target
// process, through which the processes it starts are found at close, even
// when they left its process group.
const TargetIDEnv = "MCP_TEST_MCP_TARGET_ID"

// startProcess starts path with args in its own process group. env is the
// complete environment, to which TargetIDEnv is added. The caller owns the
// returned process and must call terminate.
func startProcess(path string, args, env []string, dir string, stderrBytes int, onStderrLine func(line string, size int)) (*process, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW)
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW, outR, outW)
		return nil, err
	}
	marker := TargetIDEnv + "=" + newID()
	cmd := exec.Command(path, args...)
	cmd.Env = append(slices.Clone(env), marker)
	cmd.Dir = dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	// Pdeathsig ends the target (not its group) if the tester itself is
	// killed without a chance to close it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	// The child has its own copies of its ends (or never will).
	closeAll(inR, outW, errW)
	if err != nil {
		closeAll(inW, outR, errR)
		return nil, err
	}
	p := &process{
		cmd:        cmd,
		pid:        cmd.Process.Pid,
		marker:     marker,
		guard:      startGuard(cmd.Process.Pid, marker),
		stdin:      inW,
		stdout:     outR,
		stderr:     newRing(stderrBytes),
		stderrDone: make(chan struct{}),
		exited:     make(chan struct{}),
	}
	go func() {
		defer close(p.stderrDone)
		lines := &lineWriter{max: scrubWindow, emit: onStderrLine}
		_, _ = io.Copy(io.MultiWriter(p.stderr, lines), errR)
		_ = errR.Close()
	}()
	go func() {
		defer close(p.exited)
		_ = cmd.Wait()
		p.exit = exitInfo(cmd.ProcessState)
	}()
	return p, nil
}

func exitInfo(ps *os.ProcessState) ExitInfo {
	var x ExitInfo
	if ps == nil {
		return x
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		x.Signal = unix.SignalName(ws.Signal())
		if x.Signal == "" {
			x.Signal = ws.Signal().String()
		}
		return x
	}
	code := ps.ExitCode()
	x.Code = &code
	return x
}

// hasExited reports whether the leader has been reaped.
func (p *process) hasExited() bool { return isClosed(p.exited) }

// ended reports whether the leader has exited, asking the kernel rather
// than the reaper goroutine, which a loaded machine may not run for a
// while: a zombie (or a leader already reaped) has ended. It does not reap.
func (p *process) ended() bool {
	if p.hasExited() {
		return true
	}
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, p.pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	if err != nil {
		return errors.Is(err, unix.ECHILD) // reaped meanwhile
	}
	// WNOHANG leaves info zeroed while the leader runs.
	return info.Signo != 0
}

// waitExit waits up to d for the leader to be reaped and for its stderr to
// drain, so that an exit report carries the last words. It reports whether
// the leader exited.
func (p *process) waitExit(d time.Duration) bool {
	deadline := time.Now().Add(d)
	if !closedWithin(p.exited, d) {
		return false
	}
	closedWithin(p.stderrDone, time.Until(deadline))
	return true
}

// exitReport returns how the process ended with the tail of its stderr.
// Call it after the leader has exited.
func (p *process) exitReport(scrub func(string) string) ExitInfo {
	x := ExitInfo{Code: p.exit.Code, Signal: p.exit.Signal}
	x.StderrTail = strings.Join(scrubLines(p.stderr, scrub), "\n")
	return x
}

// terminate ends the whole process group within budget, in the order the
// MCP spec gives for stdio: close stdin, then SIGTERM, then SIGKILL. It
// returns a warning when the target had to be forced.
func (p *process) terminate(budget time.Duration) (warning string) {
	deadline := time.Now().Add(budget)
	step := budget / 3
	// Found while the leader is not yet reaped, so that its pid, which
	// parent chains lead to, cannot have been reused.
	var strays []procgroup.Proc
	if !p.hasExited() {
		strays = procgroup.Strays(p.pid, p.marker)
		if p.hasExited() {
			strays = nil // the marker finds them again below
		}
	}
	_ = p.stdin.Close()
	if !p.waitExit(step) {
		_ = syscall.Kill(-p.pid, syscall.SIGTERM)
		if !p.waitExit(step) {
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			warning = "the target did not exit after stdin was closed and SIGTERM was sent; it was killed with SIGKILL"
			p.waitExit(time.Until(deadline))
		}
	}
	// The leader is gone; members it left behind (a launcher's children, a
	// grandchild that ignores SIGTERM) are ended with it.
	if procgroup.Alive(p.pid) {
		_ = syscall.Kill(-p.pid, syscall.SIGTERM)
		if !procgroup.WaitGone(p.pid, min(200*time.Millisecond, max(time.Until(deadline), 10*time.Millisecond))) {
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			if warning == "" {
				warning = "processes the target started ignored SIGTERM; they were killed with SIGKILL"
			}
			procgroup.WaitGone(p.pid, max(time.Until(deadline), 100*time.Millisecond))
		}
	}
	if w := endStrays(strays, p.marker); w != "" {
		warning = joinWarnings(warning, w)
	}
	p.guard.release()
	// A process outside the group may still hold the pipes; stop reading.
	_ = p.stdout.Close()
	closedWithin(p.stderrDone, 100*time.Millisecond)
	return warning
}

// strayGrace is how long processes that left the target's group get after
// SIGTERM, and again after SIGKILL.
const strayGrace = 200 * time.Millisecond

// endStrays ends the target's processes outside its group: those found
// before the group was ended, and those that carry its marker now. It
// returns a warning that names them.
func endStrays(before []procgroup.Proc, marker string) string {
	strays := before
	// The leader is gone: its pid may be reused, so no parent chains now.
	for _, s := range procgroup.Strays(0, marker) {
		if !slices.ContainsFunc(strays, func(p procgroup.Proc) bool { return p.PID == s.PID }) {
			strays = append(strays, s)
		}
	}
	if len(strays) == 0 {
		return ""
	}
	left := procgroup.End(strays, strayGrace)
	w := "the target left processes outside its process group, which were ended: " + describeProcs(strays)
	if len(left) > 0 {
		w += "; still running, not ended: " + describeProcs(left)
	}
	return w
}

// describeProcs names processes by pid and command line, with the values of
// secret-looking flags masked; the connection's own secrets are scrubbed
// later, with the rest of the warning.
func describeProcs(ps []procgroup.Proc) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		secrets := &redact.Secrets{}
		secrets.Add(secretArgValues(p.Args)...)
		out[i] = fmt.Sprintf("pid %d (%s)", p.PID, textcut.Mark(secrets.Scrub(shellJoin(p.Args)), commandShown))
	}
	return strings.Join(out, ", ")
}

// commandShown is how much of a stray process's command line a warning shows.
const commandShown = 200

func joinWarnings(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// guard is a shell, outside the target's group, that ends the target when
// the tester dies without closing it (SIGKILL, the OOM killer): Pdeathsig
// reaches only the target's own process, while the end of the guard's
// stdin, which only the tester holds, tells it to kill the target's whole
// group and the processes that carry its marker.
type guard struct {
	cmd   *exec.Cmd
	stdin *os.File
}

// guardScript's arguments are the target's group and its marker. A line
// "done" means the tester closed the target itself.
const guardScript = `read line
[ "$line" = done ] && exit 0
kill -KILL -"$1" 2>/dev/null
for e in /proc/[0-9]*/environ; do
	if tr '\0' '\n' <"$e" 2>/dev/null | grep -qxF -e "$2"; then
		p=${e#/proc/}
		kill -KILL "${p%/environ}" 2>/dev/null
	fi
done`

// startGuard starts the guard of group pgid, or returns nil when no shell
// can be started (the target then has Pdeathsig only).
func startGuard(pgid int, marker string) *guard {
	r, w, err := os.Pipe()
	if err != nil {
		return nil
	}
	defer r.Close()
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/bin:/bin"
	}
	cmd := exec.Command("/bin/sh", "-c", guardScript, "guard", strconv.Itoa(pgid), marker)
	cmd.Env = []string{"PATH=" + path}
	cmd.Stdin = r
	// Its own group: a signal to the tester's group must not end it first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = w.Close()
		return nil
	}
	return &guard{cmd: cmd, stdin: w}
}

// release tells the guard the target was closed, and reaps it.
func (g *guard) release() {
	if g == nil {
		return
	}
	_ = g.stdin.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = g.stdin.Write([]byte("done\n"))
	_ = g.stdin.Close()
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		_ = g.cmd.Wait()
	}()
	if !closedWithin(exited, time.Second) {
		_ = g.cmd.Process.Kill()
		<-exited
	}
}

// pipeBuf is the largest write to a pipe that the kernel makes atomic: a
// write of it either goes in whole or not at all.
const pipeBuf = 4096

// writeBy writes data to the pipe f, giving up when timeout passes or ctx
// ends, whichever is first. It writes pipeBuf bytes at a time and adds each
// to written, so that written counts exactly the bytes in the pipe or read
// from it. It returns how much it wrote: a write cut short leaves part of a
// message in the pipe. byCtx is true when ctx cut it short.
func writeBy(ctx context.Context, f *os.File, data []byte, timeout time.Duration, written *atomic.Int64) (n int, byCtx bool, err error) {
	deadline := time.Now().Add(timeout)
	ctxBound := false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ctxBound = d, true
	}
	_ = f.SetWriteDeadline(deadline)
	// A cancellation without a deadline interrupts the write too.
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(interrupted)
		_ = f.SetWriteDeadline(time.Now())
	})
	defer func() {
		if !stop() {
			<-interrupted
		}
	}()
	for n < len(data) {
		var m int
		m, err = f.Write(data[n:min(n+pipeBuf, len(data))])
		n += m
		written.Add(int64(m))
		if err != nil {
			break
		}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) && (ctxBound || ctx.Err() != nil) {
		// ctx's own timer fires at the same deadline: wait for it, so that
		// the caller sees ctx done.
		<-ctx.Done()
		return n, true, err
	}
	return n, false, err
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		_ = f.Close()
	}
}

// Stderr tail limits: status shows the last stderrTailLines lines, each cut
// at stderrLineMax characters with a note of its size in bytes.
const (
	stderrTailLines = 20
	stderrLineMax   = 512
)
