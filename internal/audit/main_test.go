package audit

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
)

// rawTargetName is the audit tests' own target: the raw server of
// rawtarget_test.go with one planted defect, named by its argument.
const rawTargetName = "raw-target"

// TestMain lets the test binary be its own targets (hostile.ServeIfAsked):
// the raw target, and the example server.
func TestMain(m *testing.M) {
	hostile.ServeIfAsked(map[string]func([]string) error{
		rawTargetName: func(args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("%s takes one defect, got %q", rawTargetName, args)
			}
			rawTarget(args[0])
			return nil
		},
	})
	os.Exit(m.Run())
}

// connectSelf connects a new Manager to this test binary run as the
// target name with args.
func connectSelf(t testing.TB, name string, args ...string) *connmgr.Manager {
	t.Helper()
	return connect(t, connmgr.Spec{Command: self(t), Args: args, Env: hostile.Env(name)})
}

// connectTarget connects a new Manager to argv; the audit uses the
// Manager's own raw requests.
func connectTarget(t testing.TB, argv ...string) *connmgr.Manager {
	t.Helper()
	return connect(t, connmgr.Spec{Command: argv[0], Args: argv[1:]})
}

func connect(t testing.TB, spec connmgr.Spec) *connmgr.Manager {
	t.Helper()
	mgr := connmgr.New(&connmgr.Options{CallTimeout: 20 * time.Second})
	t.Cleanup(func() { mgr.Close() })
	_, _, err := mgr.Connect(context.Background(), spec)
	require.NoError(t, err)
	return mgr
}

func self(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	return exe
}
