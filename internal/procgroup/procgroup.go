// Package procgroup answers whether any live process is left in a process
// group, and finds and ends the processes that left it. kill(-pgid, 0)
// alone is not enough: it counts zombies, and in a container whose init
// does not reap orphans a killed grandchild stays a zombie forever.
package procgroup

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Alive reports whether a process of group pgid is alive (not a zombie).
func Alive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true // no /proc: trust kill(2)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, ok := readStat(pid)
		if ok && st.pgrp == pgid && st.state != 'Z' && st.state != 'X' {
			return true
		}
	}
	return false
}

type procStat struct {
	state      byte
	ppid, pgrp int
}

// readStat reads a process's state, parent and group from /proc/PID/stat.
func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	// The command name is in parentheses and may contain spaces; the fields
	// after the last ')' are: state ppid pgrp ...
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 || len(f[0]) == 0 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	pgrp, err2 := strconv.Atoi(string(f[2]))
	return procStat{state: f[0][0], ppid: ppid, pgrp: pgrp}, err1 == nil && err2 == nil
}

// WaitGone polls until no live process is left in group pgid or d passes,
// and reports whether the group is gone. Signals to a group give no
// completion event to wait on, hence the poll.
func WaitGone(pgid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for Alive(pgid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// Proc is a process found by Strays.
type Proc struct {
	PID int
	// Args is its command line (empty for a process that has none).
	Args []string
}

// Strays returns the live processes outside group pgid that belong to the
// target whose leader is process pgid: those that descend from it by their
// parent chain (read while the leader lives), and those whose environment
// holds marker, a "NAME=value" entry the target was started with (found
// even after they were orphaned). These are a target's processes that left
// its group, such as setsid daemons; a signal to the group misses them.
// Processes of other users, whose environment cannot be read, are found
// only by their parent chain. pgid 0 finds by marker only.
func Strays(pgid int, marker string) []Proc {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	type info struct{ ppid, pgrp int }
	procs := map[int]info{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok && st.state != 'Z' && st.state != 'X' {
			procs[pid] = info{st.ppid, st.pgrp}
		}
	}
	self := os.Getpid()
	descends := func(pid int) bool {
		if pgid <= 0 {
			return false
		}
		for range 64 { // a chain longer than that is not worth following
			in, ok := procs[pid]
			if !ok || in.ppid <= 1 {
				return false
			}
			if in.ppid == pgid {
				return true
			}
			pid = in.ppid
		}
		return false
	}
	var out []Proc
	for pid, in := range procs {
		if in.pgrp == pgid || pid == self || pid == pgid {
			continue
		}
		if descends(pid) || (marker != "" && hasEnv(pid, marker)) {
			out = append(out, Proc{PID: pid, Args: cmdline(pid)})
		}
	}
	slices.SortFunc(out, func(a, b Proc) int { return a.PID - b.PID })
	return out
}

func hasEnv(pid int, entry string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for kv := range bytes.SplitSeq(b, []byte{0}) {
		if string(kv) == entry {
			return true
		}
	}
	return false
}

func cmdline(pid int) []string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// End sends SIGTERM to procs, gives them up to d to end, then sends SIGKILL
// to those left and waits up to d again. It returns the processes still
// alive after that (of another user, say).
func End(procs []Proc, d time.Duration) (left []Proc) {
	alive := func() []Proc {
		return slices.DeleteFunc(slices.Clone(procs), func(p Proc) bool { return !Running(p.PID) })
	}
	signal := func(sig syscall.Signal) {
		for _, p := range procs {
			_ = syscall.Kill(p.PID, sig)
		}
	}
	signal(syscall.SIGTERM)
	if waitUntil(d, func() bool { return len(alive()) == 0 }) {
		return nil
	}
	procs = alive()
	signal(syscall.SIGKILL)
	waitUntil(d, func() bool { return len(alive()) == 0 })
	return alive()
}

// Running reports whether pid is a live process (not a zombie).
func Running(pid int) bool {
	st, ok := readStat(pid)
	return ok && st.state != 'Z' && st.state != 'X'
}

func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
