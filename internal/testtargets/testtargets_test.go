package testtargets_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/testtargets"
)

func TestRootHoldsGoMod(t *testing.T) {
	_, err := os.Stat(filepath.Join(testtargets.Root(t), "go.mod"))
	assert.NoError(t, err)
}

// TestTargetsAnswerTheGoSDKClient proves that `make deps` installed every
// target and that each transport completes initialize and tools/list.
func TestTargetsAnswerTheGoSDKClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		transport func(t *testing.T) mcp.Transport
		server    string // serverInfo.name
		tool      string // a tool the target must list
	}{
		{
			name: "go everything-server over stdio",
			transport: func(t *testing.T) mcp.Transport {
				return &mcp.CommandTransport{Command: exec.Command(testtargets.GoEverythingServer(t))}
			},
			server: "mcp-conformance-test-server",
			tool:   "test_simple_text",
		},
		{
			name: "go everything-server over streamable HTTP",
			transport: func(t *testing.T) mcp.Transport {
				return &mcp.StreamableClientTransport{Endpoint: testtargets.StartGoEverythingHTTP(t), MaxRetries: -1}
			},
			server: "mcp-conformance-test-server",
			tool:   "test_simple_text",
		},
		{
			name: "stateful go everything-server over streamable HTTP",
			transport: func(t *testing.T) mcp.Transport {
				return &mcp.StreamableClientTransport{Endpoint: testtargets.StartGoEverythingHTTP(t, "-stateless=false"), MaxRetries: -1}
			},
			server: "mcp-conformance-test-server",
			tool:   "test_simple_text",
		},
		{
			name: "node server-everything over stdio",
			transport: func(t *testing.T) mcp.Transport {
				node, script := testtargets.NodeEverything(t)
				// server-everything ignores stdin EOF once it has asked a
				// client that declares roots (as this one does) for
				// roots/list, so Close always ends in SIGTERM: keep the
				// wait for that short.
				return &mcp.CommandTransport{Command: exec.Command(node, script, "stdio"), TerminateDuration: time.Second}
			},
			server: "mcp-servers/everything",
			tool:   "echo",
		},
		{
			name: "node server-everything over streamable HTTP",
			transport: func(t *testing.T) mcp.Transport {
				return &mcp.StreamableClientTransport{Endpoint: testtargets.StartNodeEverything(t, "streamableHttp"), MaxRetries: -1}
			},
			server: "mcp-servers/everything",
			tool:   "echo",
		},
		{
			name: "node server-everything over SSE",
			transport: func(t *testing.T) mcp.Transport {
				return &mcp.SSEClientTransport{Endpoint: testtargets.StartNodeEverything(t, "sse")}
			},
			server: "mcp-servers/everything",
			tool:   "echo",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()

			client := mcp.NewClient(&mcp.Implementation{Name: "testtargets", Version: "test"}, nil)
			session, err := client.Connect(ctx, tt.transport(t), nil)
			require.NoError(t, err)
			t.Cleanup(func() { _ = session.Close() })

			assert.Equal(t, tt.server, session.InitializeResult().ServerInfo.Name)
			res, err := session.ListTools(ctx, nil)
			require.NoError(t, err)
			names := make([]string, 0, len(res.Tools))
			for _, tool := range res.Tools {
				names = append(names, tool.Name)
			}
			assert.Contains(t, names, tt.tool)
		})
	}
}

func TestKillEndsTheProcessGroup(t *testing.T) {
	t.Parallel()
	// sh leads the group and leaves a child behind in it; both must go.
	s := testtargets.StartHTTP(t, testtargets.HTTPCommand{
		Name: "sh wrapping the go everything-server",
		Args: func(port int) []string {
			return []string{"sh", "-c", `"$0" -http 127.0.0.1:"$1" & wait`,
				testtargets.GoEverythingServer(t), strconv.Itoa(port)}
		},
		Path: "/mcp",
	})
	require.False(t, testtargets.ProcessGroupGone(s.Pid), "group should exist while the server runs")

	s.Kill()
	s.Kill() // idempotent

	assert.Eventually(t, func() bool { return testtargets.ProcessGroupGone(s.Pid) },
		5*time.Second, 10*time.Millisecond, "process group %d still has members", s.Pid)
	select {
	case <-s.Exited():
	default:
		t.Error("Exited not closed after Kill")
	}
}

func TestStartHTTPReportsAServerThatExits(t *testing.T) {
	t.Parallel()
	// A fake TB records the failure instead of ending this test.
	ft := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		testtargets.StartHTTP(ft, testtargets.HTTPCommand{
			Name: "exiting server",
			Args: func(int) []string { return []string{"sh", "-c", "echo boom >&2; exit 3"} },
		})
	}()
	<-done
	ft.mu.Lock()
	defer ft.mu.Unlock()
	require.True(t, ft.failed, "StartHTTP should fail the test")
	assert.Contains(t, ft.msg, "exited before it was ready")
	assert.Contains(t, ft.msg, "boom")
	assert.Contains(t, ft.msg, "exit status 3")
	assert.True(t, slices.ContainsFunc(ft.logs, func(s string) bool { return strings.Contains(s, "retrying") }),
		"retries should be logged: %q", ft.logs)
}

// fakeTB records Fatalf and Logf instead of acting on them, so a test can
// check how a helper fails.
type fakeTB struct {
	testing.TB

	mu     sync.Mutex // guards the fields below
	failed bool
	msg    string
	logs   []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}
