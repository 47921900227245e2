package connmgr

import (
	"os"
	"os/exec"
	"testing"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/procgroup"
)

// TestMain lets the test binary be its own target (hostile.ServeIfAsked):
// the example server (exampleSpec) or a hostile target (hostileSpec), so
// tests drive real processes and real protocol traffic.
func TestMain(m *testing.M) {
	hostile.ServeIfAsked(nil)
	os.Exit(m.Run())
}

// exampleSpec is a Spec that runs the example server in mode.
func exampleSpec(t testing.TB, mode string, extra ...string) Spec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Command: exe, Args: append([]string{"--mode", mode}, extra...), Env: hostile.Env(hostile.ExampleServer)}
}

func execCommand(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

func processGroupAlive(pgid int) bool { return procgroup.Alive(pgid) }
