// Package testtargets finds and starts the real MCP servers that tests run
// against: go-sdk's conformance everything-server and the npm package
// @modelcontextprotocol/server-everything.
//
// `make deps` installs both under .cache/ at the repository root. A missing
// install skips the calling test with a hint, so that `go test ./...` on a
// fresh clone passes; when CI is set it fails the test instead, so that a
// green CI run always means the interop tests ran.
//
// Import this package only from _test.go files.
package testtargets

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/procgroup"
)

// ReadyTimeout bounds how long an HTTP target may take to accept connections.
const ReadyTimeout = 10 * time.Second

// startAttempts is how often StartHTTP tries a fresh port when the server
// exits before it is ready: the port chosen can be taken between our probe
// and the server's listen.
const startAttempts = 3

// outputLimit bounds the server output kept for failure reports.
const outputLimit = 64 << 10

const installHint = "run `make deps` first"

var (
	rootOnce sync.Once
	root     string
	rootErr  error
)

// Root returns the repository root: the nearest directory at or above the
// working directory that holds go.mod.
func Root(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				rootErr = errors.New("no go.mod above the working directory")
				return
			}
			dir = parent
		}
	})
	if rootErr != nil {
		t.Fatalf("finding the repository root: %v", rootErr)
	}
	return root
}

// GoEverythingServer returns the absolute path of go-sdk's conformance
// everything-server. It serves stdio by default and streamable HTTP with
// -http ADDR (stateless unless -stateless=false is given too).
func GoEverythingServer(t testing.TB) string {
	t.Helper()
	path := filepath.Join(Root(t), ".cache", "bin", "everything-server")
	requireFile(t, path, true)
	return path
}

// NodeEverything returns the node interpreter and the entry script of
// @modelcontextprotocol/server-everything. Run it as `node script MODE` with
// MODE one of stdio (the default), sse or streamableHttp.
func NodeEverything(t testing.TB) (node, script string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not installed: %v", err)
	}
	script = filepath.Join(Root(t), ".cache", "node", "node_modules",
		"@modelcontextprotocol", "server-everything", "dist", "index.js")
	requireFile(t, script, false)
	return node, script
}

func requireFile(t testing.TB, path string, executable bool) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		missing(t, "test target missing (%s): %v", installHint, err)
	}
	if !fi.Mode().IsRegular() {
		missing(t, "test target %s is not a regular file (%s)", path, installHint)
	}
	if executable && fi.Mode().Perm()&0o111 == 0 {
		missing(t, "test target %s is not executable (%s)", path, installHint)
	}
}

// missing ends a test whose target is not installed: a skip, or under CI
// (CI set) a failure.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// StartGoEverythingHTTP starts go-sdk's everything-server on streamable HTTP
// and returns its URL, http://127.0.0.1:PORT/mcp (the server answers on any
// path). args are extra flags, such as "-stateless=false" for a server that
// keeps sessions and can send requests to the client. The server is killed
// when the test ends.
func StartGoEverythingHTTP(t testing.TB, args ...string) string {
	t.Helper()
	bin := GoEverythingServer(t)
	return StartHTTP(t, HTTPCommand{
		Name: "go everything-server",
		Args: func(port int) []string {
			return append([]string{bin, "-http", "127.0.0.1:" + strconv.Itoa(port)}, args...)
		},
		Path: "/mcp",
	}).URL
}

// StartNodeEverything starts @modelcontextprotocol/server-everything in mode
// "streamableHttp" or "sse" and returns its URL: http://127.0.0.1:PORT/mcp
// or http://127.0.0.1:PORT/sse. The server is killed when the test ends.
func StartNodeEverything(t testing.TB, mode string) string {
	t.Helper()
	var path string
	switch mode {
	case "streamableHttp":
		path = "/mcp"
	case "sse":
		path = "/sse"
	default:
		t.Fatalf("StartNodeEverything: mode %q is not streamableHttp or sse", mode)
	}
	node, script := NodeEverything(t)
	return StartHTTP(t, HTTPCommand{
		Name: "node server-everything " + mode,
		Args: func(int) []string { return []string{node, script, mode} },
		// The server reads its port only from PORT (default 3001).
		Env:  func(port int) []string { return []string{"PORT=" + strconv.Itoa(port)} },
		Path: path,
	}).URL
}

// HTTPCommand describes an HTTP server process for StartHTTP.
type HTTPCommand struct {
	// Name labels the server in failures. Zero means the program's base name.
	Name string
	// Args returns the command line, program first, of a server that
	// listens on 127.0.0.1:port. It must not be nil.
	Args func(port int) []string
	// Env returns entries ("KEY=value") added to the test's environment.
	// Nil adds none.
	Env func(port int) []string
	// Path is appended to http://127.0.0.1:PORT to make Server.URL.
	// Zero means the URL has no path.
	Path string
}

// Server is an HTTP server process started by StartHTTP.
type Server struct {
	// URL is http://127.0.0.1:PORT followed by HTTPCommand.Path.
	URL string
	// Pid is the process id of the server, which leads its own process group.
	Pid int

	name   string
	output *tailBuffer
	done   chan struct{} // closed when the process has been reaped
	kill   sync.Once
}

// StartHTTP starts cmd in its own process group on a free port and returns
// once the port accepts TCP connections. It fails the test if the server
// exits or is not ready within ReadyTimeout. The whole process group is
// killed when the test ends; the server's output is logged if the test
// failed.
func StartHTTP(t testing.TB, cmd HTTPCommand) *Server {
	t.Helper()
	for attempt := 1; ; attempt++ {
		port := freePort(t)
		s := start(t, cmd, port)
		err := s.waitReady(port)
		if err == nil {
			return s
		}
		s.Kill()
		if !errors.Is(err, errExitedEarly) || attempt == startAttempts {
			t.Fatalf("starting %s on port %d: %v\noutput:\n%s", s.name, port, err, s.Output())
		}
		t.Logf("%s exited before listening on port %d; retrying on another port", s.name, port)
	}
}

var errExitedEarly = errors.New("exited before it was ready")

func start(t testing.TB, hc HTTPCommand, port int) *Server {
	t.Helper()
	argv := hc.Args(port)
	name := hc.Name
	if name == "" {
		name = filepath.Base(argv[0])
	}
	s := &Server{
		URL:    "http://127.0.0.1:" + strconv.Itoa(port) + hc.Path,
		name:   name,
		output: &tailBuffer{limit: outputLimit},
		done:   make(chan struct{}),
	}
	// Not CommandContext: the test, not a context, owns this process, and
	// killing only the leader would leave its children behind.
	c := exec.Command(argv[0], argv[1:]...)
	c.Env = os.Environ()
	if hc.Env != nil {
		c.Env = append(c.Env, hc.Env(port)...)
	}
	c.Stdout = s.output
	c.Stderr = s.output
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Wait also waits for the copies of stdout and stderr, which a process
	// that left the group could hold open: give up on them after a while.
	c.WaitDelay = 5 * time.Second
	if err := c.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	s.Pid = c.Process.Pid
	go func() {
		err := c.Wait()
		fmt.Fprintf(s.output, "\n[%s: %v]\n", name, exitText(err))
		close(s.done)
	}()
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", s.name, s.Output())
		}
	})
	return s
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// waitReady polls the port until it accepts a connection, the process
// exits, or ReadyTimeout passes.
func (s *Server) waitReady(port int) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.NewTimer(ReadyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return errExitedEarly
		case <-deadline.C:
			return fmt.Errorf("not accepting connections on %s after %v", addr, ReadyTimeout)
		case <-tick.C:
		}
		conn, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
		if err != nil {
			continue
		}
		conn.Close()
		// The port may have been taken by someone else after our probe;
		// a server that lost the race exits, so check it is still alive.
		select {
		case <-s.done:
			return errExitedEarly
		default:
			return nil
		}
	}
}

// Kill ends the server's whole process group with SIGKILL and waits for the
// server to be reaped. It is safe to call more than once; the test's cleanup
// calls it too.
func (s *Server) Kill() {
	s.kill.Do(func() {
		// ESRCH means the group is already gone; nothing else can fail for
		// a group we created.
		_ = syscall.Kill(-s.Pid, syscall.SIGKILL)
		<-s.done
	})
}

// Exited is closed once the server process has exited and been reaped.
func (s *Server) Exited() <-chan struct{} { return s.done }

// Output returns the last 64 KiB of the server's stdout and stderr.
func (s *Server) Output() string { return s.output.String() }

// ProcessGroupGone reports whether no live process is left in process group
// pgid. Zombies count as gone (see package procgroup): an orphan killed with
// its group stays a zombie until init reaps it, which in some containers
// takes seconds or never happens.
func ProcessGroupGone(pgid int) bool {
	return !procgroup.Alive(pgid)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	limit int

	mu  sync.Mutex // guards buf
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.limit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
