package exampleserver

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// subcommand is the argument that selects the example server in any binary
// that wires Main the way mcp-test-mcp does.
const subcommand = "example-server"

// startGrandchild re-executes this binary as "example-server --mode sleeper",
// in our process group, and reaps it in the background. It inherits stderr
// when that is a file, so it holds the pipe open as a leaked launcher child
// would.
func startGrandchild(stderr io.Writer) (pid int, err error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("finding executable: %w", err)
	}
	// Started as "mcp-test-mcp example-server ...", the grandchild is
	// "mcp-test-mcp example-server --mode sleeper"; a test binary started
	// with the flags alone (the target named in its environment, which the
	// grandchild inherits) gets the flags alone.
	args := []string{"--mode", string(ModeSleeper)}
	if i := slices.Index(os.Args, subcommand); i >= 1 {
		args = append(slices.Clone(os.Args[1:i+1]), args...)
	}
	cmd := exec.Command(exe, args...)
	if f, ok := stderr.(*os.File); ok {
		cmd.Stderr = f
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting grandchild: %w", err)
	}
	// The grandchild is meant to outlive us; this goroutine only reaps it if
	// it dies first.
	go func() { _ = cmd.Wait() }()
	return cmd.Process.Pid, nil
}

const floodText = "the quick brown fox jumps over the lazy dog, again and again and again"

// floodStderr writes about 2 MB of numbered lines, stopping early when stop
// is closed.
func floodStderr(w io.Writer, stop <-chan struct{}) {
	const lines, perWrite = 20_000, 100
	var b strings.Builder
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&b, "stderr-flood startup line %05d: %s\n", i, floodText)
		if i%perWrite != 0 {
			continue
		}
		select {
		case <-stop:
			return
		default:
		}
		if _, err := io.WriteString(w, b.String()); err != nil {
			return
		}
		b.Reset()
	}
}

// floodCall writes the 1000 lines of one tools/call.
func floodCall(w io.Writer) {
	var b strings.Builder
	for i := 1; i <= 1000; i++ {
		fmt.Fprintf(&b, "stderr-flood call line %04d: %s\n", i, floodText)
	}
	_, _ = io.WriteString(w, b.String())
}
