package audit

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
)

// TestMain lets the test binary be its own targets:
//
//	raw-target DEFECT          the raw server of rawtarget_test.go with one planted defect
//	example-server ARGS...     the example server
func TestMain(m *testing.M) {
	if len(os.Args) > 2 {
		switch os.Args[1] {
		case "raw-target":
			rawTarget(os.Args[2])
			os.Exit(0)
		case "example-server":
			if err := exampleserver.Main(context.Background(), os.Args[2:], os.Stdin, os.Stdout, os.Stderr); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	// Under -race a Go program sleeps a second before exiting; the targets
	// these tests start must exit when their stdin closes, as real ones do.
	_ = os.Setenv("GORACE", "atexit_sleep_ms=0")
	os.Exit(m.Run())
}

// connectTarget connects a new Manager to argv; the audit uses the
// Manager's own raw requests.
func connectTarget(t testing.TB, argv ...string) *connmgr.Manager {
	t.Helper()
	mgr := connmgr.New(&connmgr.Options{CallTimeout: 20 * time.Second})
	t.Cleanup(func() { mgr.Close() })
	_, _, err := mgr.Connect(context.Background(), connmgr.Spec{Command: argv[0], Args: argv[1:]})
	require.NoError(t, err)
	return mgr
}

func self(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	return exe
}
