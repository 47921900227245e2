package connmgr

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/procgroup"
)

// TestMain lets the test binary be its own target: run with
// "example-server [flags]" it serves the example server over stdio, and with
// hostile.Behaviour in its environment the hostile target (see hostileSpec),
// so tests drive real processes and real protocol traffic.
func TestMain(m *testing.M) {
	if b := os.Getenv(hostile.Behaviour); b != "" {
		hostile.Main(b, os.Stdin, os.Stdout)
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == "example-server" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT)
		err := exampleserver.Main(ctx, os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// Under -race a Go program sleeps a second before exiting; the targets
	// these tests start must exit when their stdin closes, as real ones do.
	_ = os.Setenv("GORACE", "atexit_sleep_ms=0")
	os.Exit(m.Run())
}

// exampleSpec is a Spec that runs the example server in mode.
func exampleSpec(t testing.TB, mode string, extra ...string) Spec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Command: exe, Args: append([]string{"example-server", "--mode", mode}, extra...)}
}

func execCommand(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

func processGroupAlive(pgid int) bool { return procgroup.Alive(pgid) }
