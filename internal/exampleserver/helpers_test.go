package exampleserver

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"
)

// runAsExample makes the test binary act as mcp-test-mcp: with it set,
// "TESTBIN example-server ARGS" runs Main (the TestMain re-exec trick).
const runAsExample = "TESTSERVER_RUN_AS_EXAMPLE"

func TestMain(m *testing.M) {
	if os.Getenv(runAsExample) == "1" && len(os.Args) > 1 && os.Args[1] == subcommand {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		err := Main(ctx, os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// exitRecorder stands in for os.Exit.
type exitRecorder struct {
	mu    sync.Mutex // guards codes
	codes []int
}

func (r *exitRecorder) exit(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.codes = append(r.codes, code)
}

func (r *exitRecorder) get() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.codes...)
}

// stdioServer is an in-process example server on pipes.
type stdioServer struct {
	stdin  *io.PipeWriter // the server's stdin
	stdout *io.PipeReader // the server's stdout
	stderr *testtargets.Buffer
	exits  *exitRecorder
	done   chan error // receives Run's result
	cancel context.CancelFunc
}

// startStdio runs Run in-process with the given command-line arguments.
func startStdio(t *testing.T, args ...string) *stdioServer {
	t.Helper()
	opts, err := parseArgs(args, io.Discard)
	require.NoError(t, err)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &stdioServer{stdin: inW, stdout: outR, stderr: &testtargets.Buffer{}, exits: &exitRecorder{}, done: make(chan error, 1)}
	opts.Stdin, opts.Stdout, opts.Stderr, opts.Exit = inR, outW, s.stderr, s.exits.exit
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		err := Run(ctx, opts)
		outW.Close()
		inR.Close()
		s.done <- err
	}()
	t.Cleanup(func() {
		cancel()
		inW.Close()
		outR.Close()
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context was cancelled")
		}
	})
	return s
}

// wait returns Run's result.
func (s *stdioServer) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err // let Cleanup see it too
		return err
	case <-time.After(5 * time.Second):
		require.FailNow(t, "Run did not return")
		return nil
	}
}

// connect connects a go-sdk client to the server at the legacy protocol.
func (s *stdioServer) connect(t *testing.T, copts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "exampleserver-test", Version: "0.0.1"}, copts)
	cs, err := c.Connect(t.Context(), &mcp.IOTransport{Reader: s.stdout, Writer: s.stdin, MaxLineLength: -1},
		&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// callTool calls a tool, failing the test on a protocol error.
func callTool(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	require.NoError(t, err, "calling %s", name)
	return res
}

// text joins the text blocks of a result.
func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}
