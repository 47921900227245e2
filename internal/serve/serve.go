// Package serve serves the tester to many hosts over HTTP (`mcp-test-mcp
// serve --http`): streamable HTTP at /mcp and, optionally, legacy SSE at
// /sse, one connection manager (and so one target) per MCP session. It owns
// the sessions' lifetimes (the idle and unused timeouts, the bound on live
// sessions, shutdown) and the guards that keep a server that can start
// programs from being an open door: the bearer token, and the Host and
// Origin checks against DNS rebinding. Building the tester's MCP server is
// the caller's (Options.Tester); the command line is cmd/mcp-test-mcp's.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
)

// Defaults of the Options fields left zero.
const (
	// DefaultSessionTimeout closes a session (and its target) that sent no
	// request for this long.
	DefaultSessionTimeout = 30 * time.Minute
	// DefaultUnusedSessionTimeout closes a session that sent nothing after
	// initialize for this long: a host that connects uses its session at
	// once (tools/list), and abandoned ones would hold a place among
	// MaxSessions for the whole SessionTimeout.
	DefaultUnusedSessionTimeout = time.Minute
	// DefaultMaxSessions bounds the live sessions; each may hold a target.
	DefaultMaxSessions = 32
)

const (
	// ShutdownTimeout bounds Serve's return once its context ends.
	ShutdownTimeout = 5 * time.Second
	// retryAfterSeconds is the Retry-After of a 503 for too many sessions.
	retryAfterSeconds = 30
)

// ErrNeedsToken is returned by New for an address off loopback without a
// token: anyone who reaches it could start programs.
var ErrNeedsToken = errors.New("a non-loopback address needs a bearer token")

// Options configures a Server.
type Options struct {
	// Tester builds the tester's MCP server around mgr, for one session or
	// (with a manager that is never connected) for the requests that start
	// none. It must be set.
	Tester func(logger *slog.Logger, mgr *connmgr.Manager) *mcp.Server
	// Manager returns the connection manager of one session, restricted by
	// policy (nil allows every program); nil means connmgr.New with the
	// logger and policy only.
	Manager func(logger *slog.Logger, policy *connmgr.CommandPolicy) *connmgr.Manager
	// Logger receives the server's logs, each session's with a "session"
	// attribute; nil discards them.
	Logger *slog.Logger
	// Version is logged when serving starts.
	Version string
	// SSE also serves legacy SSE at /sse.
	SSE bool
	// Token, if set, is required as Authorization: Bearer on every request;
	// empty requires none, which New allows only on loopback.
	Token string
	// AllowHosts are accepted in Host and Origin headers besides loopback
	// names and the bound address; each is a host or host:port.
	AllowHosts []string
	// AllowCommands, if set, are the only programs a stdio target may run
	// (connmgr.CommandPolicy.Allow).
	AllowCommands []string
	// NoStdio refuses every stdio target.
	NoStdio bool
	// SessionTimeout closes a session after this long without requests;
	// zero means DefaultSessionTimeout.
	SessionTimeout time.Duration
	// UnusedSessionTimeout closes a session that sent nothing after
	// initialize within this long; zero means DefaultUnusedSessionTimeout.
	UnusedSessionTimeout time.Duration
	// MaxSessions bounds the live sessions (new ones get 503 with
	// Retry-After); zero means DefaultMaxSessions.
	MaxSessions int
}

// Server serves the tester to many hosts, one connmgr.Manager per MCP
// session.
type Server struct {
	opts    Options // zero fields replaced by their defaults
	log     *slog.Logger
	policy  *connmgr.CommandPolicy // nil allows every program
	hosts   map[string]bool        // accepted Host/Origin host names (and host:port)
	handler http.Handler
	// proto answers go-sdk's per-request questions (protocol versions) for
	// requests that do not start a session; it is never connected.
	proto *mcp.Server

	// mu guards the fields below. Nothing that can block (closing a
	// session or its manager) runs while it is held.
	mu sync.Mutex
	// sessions are the live sessions; each has a watcher goroutine in wg
	// that closes its manager when the session ends.
	sessions map[*mcp.ServerSession]bool
	// starting counts requests that may start a session, under way; with
	// sessions it is held to opts.MaxSessions.
	starting int
	// closed is set by shutdown: no session is tracked after it.
	closed bool
	n      int // sessions numbered so far, for the logs
	wg     sync.WaitGroup
}

// sessionServerKey carries the *mcp.Server built for a request that starts
// a session.
type sessionServerKey struct{}

// New returns a Server for a listener bound to addr. It returns an error
// wrapping ErrNeedsToken when addr is not a loopback address and
// o.Token is empty.
func New(o *Options, addr net.Addr) (*Server, error) {
	s := &Server{opts: *o, sessions: map[*mcp.ServerSession]bool{}}
	if s.opts.Tester == nil {
		return nil, errors.New("serve: Options.Tester is not set")
	}
	if s.opts.SessionTimeout <= 0 {
		s.opts.SessionTimeout = DefaultSessionTimeout
	}
	if s.opts.UnusedSessionTimeout <= 0 {
		s.opts.UnusedSessionTimeout = DefaultUnusedSessionTimeout
	}
	if s.opts.MaxSessions <= 0 {
		s.opts.MaxSessions = DefaultMaxSessions
	}
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.opts.Manager == nil {
		s.opts.Manager = func(logger *slog.Logger, policy *connmgr.CommandPolicy) *connmgr.Manager {
			return connmgr.New(&connmgr.Options{Logger: logger.With("component", "connmgr"), Policy: policy})
		}
	}
	var ip net.IP
	if tcp, ok := addr.(*net.TCPAddr); ok {
		ip = tcp.IP
	}
	if ip == nil || !ip.IsLoopback() {
		if s.opts.Token == "" {
			return nil, fmt.Errorf("%w: %s", ErrNeedsToken, addr)
		}
	}
	if s.opts.NoStdio || len(s.opts.AllowCommands) > 0 {
		s.policy = &connmgr.CommandPolicy{NoStdio: s.opts.NoStdio, Allow: s.opts.AllowCommands}
	}
	s.hosts = map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}
	if ip != nil && !ip.IsUnspecified() {
		s.hosts[ip.String()] = true
	}
	for _, h := range s.opts.AllowHosts {
		s.hosts[strings.ToLower(strings.Trim(h, "[]"))] = true
	}
	s.proto = s.opts.Tester(s.log, connmgr.New(&connmgr.Options{Policy: s.policy}))
	getServer := func(r *http.Request) *mcp.Server {
		if srv, ok := r.Context().Value(sessionServerKey{}).(*mcp.Server); ok {
			return srv
		}
		return s.proto
	}
	// checkHost does go-sdk's localhost protection and more (the bound
	// address, AllowHosts, Origin); go-sdk's own would refuse an
	// AllowHosts name.
	mux := http.NewServeMux()
	mux.Handle("/mcp", s.perSession(mcp.NewStreamableHTTPHandler(getServer, &mcp.StreamableHTTPOptions{
		Logger:                     s.log.With("component", "http"),
		SessionTimeout:             s.opts.SessionTimeout,
		DisableLocalhostProtection: true,
	})))
	if s.opts.SSE {
		mux.Handle("/sse", s.perSession(mcp.NewSSEHandler(getServer, &mcp.SSEOptions{DisableLocalhostProtection: true})))
	}
	s.handler = s.checkHost(s.checkToken(mux))
	return s, nil
}

// Handler is the server's HTTP handler, guards included.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves on ln until ctx ends, then stops accepting, closes every
// session and its target, and returns within ShutdownTimeout. It returns
// nil when ctx ended it.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.log.Info("serving MCP over HTTP", "addr", ln.Addr().String(), "version", s.opts.Version, "sse", s.opts.SSE)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		s.shutdown()
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("stopping", "error", context.Cause(ctx))
	// Stop accepting; streams never go idle, so close what is left soon.
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	cancel()
	<-errc
	s.shutdown()
	return nil
}

// shutdown ends every session, which closes its target, and waits for them
// up to what is left of ShutdownTimeout.
func (s *Server) shutdown() {
	s.mu.Lock()
	s.closed = true
	sessions := make([]*mcp.ServerSession, 0, len(s.sessions))
	for ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	for _, ss := range sessions {
		_ = ss.Close()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(ShutdownTimeout - time.Second):
		s.log.Warn("some targets did not close in time")
	}
}
