package hostile

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exampleserver"
)

// ExampleServer is the target name that makes a re-executed test binary the
// example server; its arguments are the example server's flags.
const ExampleServer = "example-server"

// ServeIfAsked is the project's one way for a test binary to be a test
// target (go-sdk's runAsServer pattern): a test starts os.Args[0] with
// Behaviour=<name> in its environment (see Env), and TestMain, which calls
// ServeIfAsked first, runs that target and exits instead of running tests.
// The name is one of own (a package's own targets, given os.Args[1:]),
// ExampleServer (os.Args[1:] are its flags), or one of this package's
// behaviours. Without Behaviour in the environment it returns at once.
//
// Under -race a Go program sleeps a second before exiting; targets must
// exit when their stdin closes, as real ones do, so ServeIfAsked also sets
// GORACE for the targets the tests start.
func ServeIfAsked(own map[string]func(args []string) error) {
	name := os.Getenv(Behaviour)
	if name == "" {
		_ = os.Setenv("GORACE", "atexit_sleep_ms=0")
		return
	}
	var err error
	if run, ok := own[name]; ok {
		err = run(os.Args[1:])
	} else if name == ExampleServer {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT)
		err = exampleserver.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
	} else {
		Main(name, os.Stdin, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Env is the environment that makes a re-executed test binary the target
// name (see ServeIfAsked).
func Env(name string) map[string]string { return map[string]string{Behaviour: name} }
