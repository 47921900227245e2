package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/hostile"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/tools"
)

// binary is this test binary; with hostile.Behaviour in its environment
// it is a test target (hostile.ServeIfAsked): the example server
// (exampleServer) or a hostile target.
var binary string

func TestMain(m *testing.M) {
	hostile.ServeIfAsked(nil)
	var err error
	if binary, err = os.Executable(); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// testerFor builds the tester's tools around mgr, as the command does, with
// workdir as tools.Deps.Workdir. Like the command's, it offers only the
// versions negotiated by initialize, so that a client's server/discover
// probe starts no session of its own.
func testerFor(workdir string) func(*slog.Logger, *connmgr.Manager) *mcp.Server {
	return func(logger *slog.Logger, mgr *connmgr.Manager) *mcp.Server {
		srv := mcp.NewServer(&mcp.Implementation{Name: "mcp-test-mcp", Version: "test"}, &mcp.ServerOptions{
			Logger:                    logger,
			SupportedProtocolVersions: []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"},
		})
		tools.Register(srv, &tools.Deps{Manager: mgr, Logger: logger, Remote: true, Workdir: workdir})
		return srv
	}
}

// served is a Server serving on a loopback port.
type served struct {
	url    string   // http://127.0.0.1:PORT/mcp
	logs   *os.File // the server's logs; writes to a file are safe for concurrent use
	cancel context.CancelFunc
	done   chan error // receives Serve's error

	stopOnce sync.Once
	err      error // Serve's error, set by stop
	late     bool  // Serve did not return in time, set by stop
}

// startServe serves o on 127.0.0.1 until the test ends; a nil o.Tester
// means testerFor("").
func startServe(t *testing.T, o Options) *served {
	t.Helper()
	s := &served{done: make(chan error, 1)}
	logs, err := os.CreateTemp(t.TempDir(), "serve-*.log")
	require.NoError(t, err)
	t.Cleanup(func() { _ = logs.Close() })
	s.logs = logs
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.Tester == nil {
		o.Tester = testerFor("")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv, err := New(&o, ln.Addr())
	if err != nil {
		ln.Close()
		require.NoError(t, err)
	}
	s.url = "http://" + ln.Addr().String() + "/mcp"
	var ctx context.Context
	ctx, s.cancel = context.WithCancel(context.Background())
	go func() { s.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		if late, _ := s.stop(); late {
			t.Error("Serve did not return within ShutdownTimeout of its context's end")
		}
		if t.Failed() {
			t.Logf("the server's logs:\n%s", s.logText(t))
		}
	})
	return s
}

// logText is what the server has logged so far.
func (s *served) logText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(s.logs.Name())
	require.NoError(t, err)
	return string(b)
}

// stop ends Serve's context and waits for it, once: it returns whether
// Serve was late, and Serve's error.
func (s *served) stop() (late bool, err error) {
	s.stopOnce.Do(func() {
		s.cancel()
		select {
		case s.err = <-s.done:
		case <-time.After(ShutdownTimeout + time.Second):
			s.late = true
		}
	})
	return s.late, s.err
}

// bearer adds an Authorization header to every request.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// session is one MCP host connected to the server.
type session struct{ cs *mcp.ClientSession }

func (s *served) session(t *testing.T, token string) *session {
	t.Helper()
	tr := &mcp.StreamableClientTransport{Endpoint: s.url}
	if token != "" {
		tr.HTTPClient = &http.Client{Transport: bearer{token}}
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "http-host", Version: "0"}, nil).Connect(t.Context(), tr, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return &session{cs: cs}
}

func (s *session) call(t *testing.T, name string, args any) map[string]any {
	t.Helper()
	res, err := s.cs.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	require.NoError(t, err)
	var env map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.Content[0].(*mcp.TextContent).Text), &env))
	return env
}

func pidOf(env map[string]any) int {
	conn, _ := env["connection"].(map[string]any)
	proc, _ := conn["process"].(map[string]any)
	pid, _ := proc["pid"].(float64)
	return int(pid)
}

func gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// initializeResponse posts an initialize request with the given headers
// (Host sets the request's host) and returns the response, its body read
// and closed.
func initializeResponse(t *testing.T, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// initialize posts an initialize request with the given headers and returns
// the status code.
func initialize(t *testing.T, url string, header map[string]string) int {
	t.Helper()
	resp, _ := initializeResponse(t, url, header)
	return resp.StatusCode
}

func TestNewRefusesAnOpenDoor(t *testing.T) {
	tests := []struct {
		name    string
		addr    string
		token   string
		wantErr bool
	}{
		{name: "loopback needs no token", addr: "127.0.0.1:8080"},
		{name: "IPv6 loopback needs no token", addr: "[::1]:8080"},
		{name: "every address needs a token", addr: "0.0.0.0:8080", wantErr: true},
		{name: "a LAN address needs a token", addr: "192.168.1.5:8080", wantErr: true},
		{name: "a LAN address with a token is fine", addr: "192.168.1.5:8080", token: "s3cret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, err := net.ResolveTCPAddr("tcp", tc.addr)
			require.NoError(t, err)
			_, err = New(&Options{Tester: testerFor(""), Token: tc.token}, addr)
			if tc.wantErr {
				assert.ErrorIs(t, err, ErrNeedsToken)
				return
			}
			assert.NoError(t, err)
		})
	}
}

// exampleServer is connect's arguments for this test binary run as the
// example server with args, with env added to its environment.
func exampleServer(env map[string]any, args ...any) map[string]any {
	e := map[string]any{hostile.Behaviour: hostile.ExampleServer}
	maps.Copy(e, env)
	return map[string]any{"command": binary, "args": append([]any{}, args...), "env": e}
}
