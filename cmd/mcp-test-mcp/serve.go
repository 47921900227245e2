package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
)

// Serving over HTTP.
const (
	// defaultSessionTimeout closes a session (and its target) that sent no
	// request for this long.
	defaultSessionTimeout = 30 * time.Minute
	// shutdownTimeout bounds the graceful shutdown on SIGTERM.
	shutdownTimeout = 5 * time.Second
	// defaultUnusedSessionTimeout closes a session that sent nothing after
	// initialize for this long: a host that connects uses its session at
	// once (tools/list), and abandoned ones would hold a place among
	// --max-sessions for the whole --session-timeout.
	defaultUnusedSessionTimeout = time.Minute
	// defaultMaxSessions bounds the live sessions; each may hold a target.
	defaultMaxSessions = 32
	// retryAfterSeconds is the Retry-After of a 503 for too many sessions.
	retryAfterSeconds = 30
)

const serveUsage = `Usage: mcp-test-mcp serve --http ADDR [flags]

Serves the tester over streamable HTTP at /mcp (and legacy SSE at /sse with
--sse). Each MCP session gets its own connection to its own target; ending the
session (DELETE, closing the SSE stream, or --session-timeout without
requests) closes its target.

It can start programs, so it is not an open door: it binds loopback unless
told otherwise, a non-loopback address needs --auth-token, Host and Origin
are checked against DNS rebinding, --allow-command / --no-stdio restrict what
stdio targets may run (for connect, reconnect and run_checks alike), no tool
reads or writes a file at a path a client names (but inside --workdir), and
--max-sessions bounds the sessions.

Flags:
`

// serveOptions is the command line of serve.
type serveOptions struct {
	addr           string
	sse            bool
	token          string
	allowHosts     []string
	allowCommands  []string
	noStdio        bool
	sessionTimeout time.Duration
	unusedTimeout  time.Duration
	maxSessions    int
	workdir        string // absolute, symlinks resolved; "" refuses client paths
}

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// parseServe reads serve's command line. On -h or --help it prints the
// usage to stdout and returns flag.ErrHelp.
func parseServe(args []string, getenv func(string) string, stdout io.Writer) (*serveOptions, error) {
	o := &serveOptions{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	// The flag package prints the usage itself on -h and on a bad flag;
	// help goes to stdout, below, and a bad flag is one line (as in check).
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&o.addr, "http", "", "listen on `ADDR`, e.g. 127.0.0.1:8080 (required)")
	fs.BoolVar(&o.sse, "sse", false, "also serve legacy SSE at /sse")
	fs.StringVar(&o.token, "auth-token", getenv("MCP_TEST_AUTH_TOKEN"), "require `TOKEN` as Authorization: Bearer (default $MCP_TEST_AUTH_TOKEN); needed off loopback")
	fs.Var((*repeated)(&o.allowHosts), "allow-host", "also accept this `HOST` (or host:port) in Host and Origin headers (repeatable)")
	fs.Var((*repeated)(&o.allowCommands), "allow-command", "let stdio targets run only this `COMMAND`: a bare name found on PATH, or a path (repeatable)")
	fs.BoolVar(&o.noStdio, "no-stdio", false, "refuse every stdio target: connect only to http(s) URLs")
	fs.DurationVar(&o.sessionTimeout, "session-timeout", defaultSessionTimeout, "close a session, and its target, after this long without requests")
	fs.DurationVar(&o.unusedTimeout, "unused-session-timeout", defaultUnusedSessionTimeout, "close a session that sent no request after initialize within this long")
	fs.IntVar(&o.maxSessions, "max-sessions", defaultMaxSessions, "refuse new sessions (503 with Retry-After) while this many are live")
	fs.StringVar(&o.workdir, "workdir", "", "let run_checks spec_path and export_checks path name files inside this `DIR` only (default: refuse client paths)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprint(stdout, serveUsage)
			fs.PrintDefaults()
			return nil, err
		}
		return nil, &usageError{err.Error()}
	}
	switch {
	case fs.NArg() > 0:
		return nil, &usageError{fmt.Sprintf("serve: unexpected arguments %q", fs.Args())}
	case o.addr == "":
		return nil, &usageError{"serve needs --http ADDR, e.g. --http 127.0.0.1:8080"}
	case o.sessionTimeout <= 0:
		return nil, &usageError{"serve: --session-timeout must be positive"}
	case o.unusedTimeout <= 0:
		return nil, &usageError{"serve: --unused-session-timeout must be positive"}
	case o.maxSessions <= 0:
		return nil, &usageError{"serve: --max-sessions must be positive"}
	}
	if o.workdir != "" {
		dir, err := filepath.Abs(o.workdir)
		if err == nil {
			dir, err = filepath.EvalSymlinks(dir)
		}
		if fi, serr := os.Stat(dir); err != nil || serr != nil || !fi.IsDir() {
			return nil, &usageError{fmt.Sprintf("serve: --workdir %s is not an existing directory", o.workdir)}
		}
		o.workdir = dir
	}
	return o, nil
}

// runServe is `mcp-test-mcp serve`.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseServe(args, os.Getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return err
	}
	setMemoryLimit()
	logger := newLogger(cfg, stderr)
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.addr, err)
	}
	bound := ln.Addr().(*net.TCPAddr)
	if !bound.IP.IsLoopback() && o.token == "" {
		ln.Close()
		return &usageError{fmt.Sprintf("serve: %s is not a loopback address, and anyone who reaches it could start programs: give --auth-token (or MCP_TEST_AUTH_TOKEN)", o.addr)}
	}
	hs := newHTTPServer(cfg, logger, o, bound)
	fmt.Fprintf(stderr, "listening on http://%s/mcp\n", ln.Addr())
	return hs.serve(ctx, ln)
}

// httpServer serves the tester to many hosts, one connmgr.Manager per MCP
// session.
type httpServer struct {
	cfg     config
	log     *slog.Logger
	opts    *serveOptions
	policy  *connmgr.CommandPolicy // nil allows every program
	hosts   map[string]bool        // accepted Host/Origin host names (and host:port)
	handler http.Handler
	// proto answers go-sdk's per-request questions (protocol versions) for
	// requests that do not start a session; it is never connected.
	proto *mcp.Server

	mu sync.Mutex
	// sessions are the live sessions, guarded by mu; each has a watcher
	// goroutine in wg that closes its manager when the session ends.
	sessions map[*mcp.ServerSession]bool
	// starting counts requests that may start a session, under way; with
	// sessions it is held to opts.maxSessions.
	starting int
	closed   bool
	n        int
	wg       sync.WaitGroup
}

// sessionServerKey carries the *mcp.Server built for a request that starts
// a session.
type sessionServerKey struct{}

func newHTTPServer(cfg config, logger *slog.Logger, o *serveOptions, bound *net.TCPAddr) *httpServer {
	s := &httpServer{cfg: cfg, log: logger, opts: o, sessions: map[*mcp.ServerSession]bool{}}
	if o.noStdio || len(o.allowCommands) > 0 {
		s.policy = &connmgr.CommandPolicy{NoStdio: o.noStdio, Allow: o.allowCommands}
	}
	s.hosts = map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}
	if !bound.IP.IsUnspecified() {
		s.hosts[bound.IP.String()] = true
	}
	for _, h := range o.allowHosts {
		s.hosts[strings.ToLower(strings.Trim(h, "[]"))] = true
	}
	s.proto = newTester(cfg, logger, connmgr.New(&connmgr.Options{Policy: s.policy}), true, o.workdir)
	getServer := func(r *http.Request) *mcp.Server {
		if srv, ok := r.Context().Value(sessionServerKey{}).(*mcp.Server); ok {
			return srv
		}
		return s.proto
	}
	// checkHost does go-sdk's localhost protection and more (the bound
	// address, --allow-host, Origin); go-sdk's own would refuse an
	// --allow-host name.
	mux := http.NewServeMux()
	mux.Handle("/mcp", s.perSession(mcp.NewStreamableHTTPHandler(getServer, &mcp.StreamableHTTPOptions{
		Logger:                     logger.With("component", "http"),
		SessionTimeout:             o.sessionTimeout,
		DisableLocalhostProtection: true,
	})))
	if o.sse {
		mux.Handle("/sse", s.perSession(mcp.NewSSEHandler(getServer, &mcp.SSEOptions{DisableLocalhostProtection: true})))
	}
	s.handler = s.checkHost(s.checkToken(mux))
	return s
}

// perSession gives a request that starts a session (a POST without
// Mcp-Session-Id, or the SSE GET) a server of its own, while fewer than
// --max-sessions are live; past that it answers 503 with Retry-After.
func (s *httpServer) perSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		starts := r.Header.Get("Mcp-Session-Id") == "" &&
			(r.Method == http.MethodPost && r.URL.Path == "/mcp" || r.Method == http.MethodGet && r.URL.Path == "/sse")
		if !starts {
			next.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		full := len(s.sessions)+s.starting >= s.opts.maxSessions
		if !full {
			s.starting++
		}
		s.mu.Unlock()
		if full {
			s.log.Warn("refusing a new session: too many sessions", "max_sessions", s.opts.maxSessions)
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
			http.Error(w, fmt.Sprintf("Service Unavailable: this server already has %d sessions (--max-sessions); end one (DELETE) or retry later", s.opts.maxSessions), http.StatusServiceUnavailable)
			return
		}
		// The reservation passes to sessions when the session's first
		// message arrives (track), or ends with a request that started no
		// session.
		reserved := &atomic.Bool{}
		reserved.Store(true)
		defer func() {
			s.mu.Lock()
			if reserved.CompareAndSwap(true, false) {
				s.starting--
			}
			s.mu.Unlock()
		}()
		used := &atomic.Bool{}
		var idle *idleTimer
		ctx := r.Context()
		if r.URL.Path == "/sse" {
			// The GET is the SSE session: it holds its place until it
			// ends. End it when it is still unused after
			// --unused-session-timeout (it may never have posted at all,
			// and so never been tracked), and after --session-timeout
			// without requests, as go-sdk does for streamable sessions.
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			defer cancel()
			unused := time.AfterFunc(s.opts.unusedTimeout, func() {
				if !used.Load() {
					s.log.Info("closing an SSE session that sent nothing after initialize", "after", s.opts.unusedTimeout)
					cancel()
				}
			})
			defer unused.Stop()
			idle = &idleTimer{after: s.opts.sessionTimeout}
			idle.t = time.AfterFunc(s.opts.sessionTimeout, func() {
				s.log.Info("closing an idle SSE session", "after", s.opts.sessionTimeout)
				cancel()
			})
			defer idle.stop()
		}
		r = r.WithContext(context.WithValue(ctx, sessionServerKey{}, s.newSessionServer(reserved, used, idle)))
		next.ServeHTTP(w, r)
	})
}

// newSessionServer builds the tester for one session, with its own
// manager. The manager is closed when the session ends; until the session's
// first request nothing is running, so one that never starts leaks nothing.
// reserved is the request's place among --max-sessions, used is set by the
// first request other than the handshake, and idle (when not nil) is held
// stopped while a request runs (see perSession).
func (s *httpServer) newSessionServer(reserved, used *atomic.Bool, idle *idleTimer) *mcp.Server {
	s.mu.Lock()
	s.n++
	logger := s.log.With("session", s.n)
	s.mu.Unlock()
	mgr := newManager(s.cfg, logger, s.policy)
	srv := newTester(s.cfg, logger, mgr, true, s.opts.workdir)
	var once sync.Once
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method != "initialize" && method != "notifications/initialized" {
				used.Store(true)
			}
			if ss, ok := req.GetSession().(*mcp.ServerSession); ok {
				once.Do(func() { s.track(ss, mgr, logger, reserved, used) })
			}
			if idle != nil {
				idle.begin()
				defer idle.end()
			}
			return next(ctx, method, req)
		}
	})
	return srv
}

// idleTimer ends a session after a time without requests: it is stopped
// while a request runs (a long call_tool is not idleness) and starts again
// when the last one ends.
type idleTimer struct {
	after time.Duration
	t     *time.Timer // set once, before any request

	mu       sync.Mutex
	inflight int  // requests running, guarded by mu
	done     bool // the session ended: the timer is never armed again; guarded by mu
}

// stop ends the timer for good: a request that finishes after its session
// ended does not arm it again.
func (i *idleTimer) stop() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.done = true
	i.t.Stop()
}

func (i *idleTimer) begin() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.inflight++
	i.t.Stop()
}

func (i *idleTimer) end() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.inflight--
	if i.inflight == 0 && !i.done {
		i.t.Reset(i.after)
	}
}

// track counts ss among the live sessions, in place of its reservation,
// closes it when it is still unused after --unused-session-timeout, and
// closes mgr (and so the session's target) when ss ends.
func (s *httpServer) track(ss *mcp.ServerSession, mgr *connmgr.Manager, logger *slog.Logger, reserved, used *atomic.Bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if reserved.CompareAndSwap(true, false) {
		s.starting--
	}
	if s.closed {
		go ss.Close()
		_ = mgr.Close()
		return
	}
	s.sessions[ss] = true
	logger.Info("session started")
	unused := time.AfterFunc(s.opts.unusedTimeout, func() {
		if !used.Load() {
			logger.Info("closing a session that sent nothing after initialize", "after", s.opts.unusedTimeout)
			_ = ss.Close()
		}
	})
	s.wg.Go(func() {
		_ = ss.Wait()
		unused.Stop()
		if err := mgr.Close(); err != nil {
			logger.Warn("closing the session's target", "error", err)
		}
		s.mu.Lock()
		delete(s.sessions, ss)
		s.mu.Unlock()
		logger.Info("session ended; its target is closed")
	})
}

// checkHost refuses requests whose Host or Origin is not this server's:
// a DNS rebinding page in a browser would send its own.
func (s *httpServer) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			http.Error(w, fmt.Sprintf("Forbidden: Host %q is not this server's (add it with --allow-host)", r.Host), http.StatusForbidden)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			u, err := url.Parse(origin)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !s.hostAllowed(u.Host) {
				http.Error(w, fmt.Sprintf("Forbidden: Origin %q is not this server's", origin), http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *httpServer) hostAllowed(hostport string) bool {
	hostport = strings.ToLower(hostport)
	if hostport == "" {
		return false
	}
	if s.hosts[hostport] {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return s.hosts[strings.Trim(host, "[]")]
}

// checkToken requires the bearer token, when one is configured, compared in
// constant time.
func (s *httpServer) checkToken(next http.Handler) http.Handler {
	if s.opts.token == "" {
		return next
	}
	want := []byte("Bearer " + s.opts.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mcp-test-mcp"`)
			http.Error(w, "Unauthorized: a valid Authorization: Bearer token is required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serve serves on ln until ctx ends, then stops accepting, closes every
// session and its target, and returns within shutdownTimeout.
func (s *httpServer) serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.log.Info("serving MCP over HTTP", "addr", ln.Addr().String(), "version", mainVersion(), "sse", s.opts.sse)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		s.shutdown()
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("stopping", "cause", context.Cause(ctx))
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
// up to what is left of shutdownTimeout.
func (s *httpServer) shutdown() {
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
	case <-time.After(shutdownTimeout - time.Second):
		s.log.Warn("some targets did not close in time")
	}
}
