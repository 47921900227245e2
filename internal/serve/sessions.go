package serve

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
)

// perSession gives a request that starts a session (a POST without
// Mcp-Session-Id, or the SSE GET) a server of its own, while fewer than
// MaxSessions are live; past that it answers 503 with Retry-After.
func (s *Server) perSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		starts := r.Header.Get("Mcp-Session-Id") == "" &&
			(r.Method == http.MethodPost && r.URL.Path == "/mcp" || r.Method == http.MethodGet && r.URL.Path == "/sse")
		if !starts {
			next.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		full := len(s.sessions)+s.starting >= s.opts.MaxSessions
		if !full {
			s.starting++
		}
		s.mu.Unlock()
		if full {
			s.log.Warn("refusing a new session: too many sessions", "max_sessions", s.opts.MaxSessions)
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
			http.Error(w, fmt.Sprintf("Service Unavailable: this server already has %d sessions (--max-sessions); end one (DELETE) or retry later", s.opts.MaxSessions), http.StatusServiceUnavailable)
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
		// A session that starts after shutdown is closed when this
		// request ends (see track), by this request's own goroutine.
		late := &lateClose{}
		defer late.run()
		var idle *idleTimer
		ctx := r.Context()
		if r.URL.Path == "/sse" {
			// The GET is the SSE session: it holds its place until it
			// ends. End it when it is still unused after
			// UnusedSessionTimeout (it may never have posted at all, and
			// so never been tracked), and after SessionTimeout without
			// requests, as go-sdk does for streamable sessions.
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			defer cancel()
			unused := time.AfterFunc(s.opts.UnusedSessionTimeout, func() {
				if !used.Load() {
					s.log.Info("closing an SSE session that sent nothing after initialize", "after", s.opts.UnusedSessionTimeout)
					cancel()
				}
			})
			defer unused.Stop()
			idle = &idleTimer{after: s.opts.SessionTimeout}
			idle.t = time.AfterFunc(s.opts.SessionTimeout, func() {
				s.log.Info("closing an idle SSE session", "after", s.opts.SessionTimeout)
				cancel()
			})
			defer idle.stop()
		}
		r = r.WithContext(context.WithValue(ctx, sessionServerKey{}, s.newSessionServer(reserved, used, idle, late)))
		next.ServeHTTP(w, r)
	})
}

// newSessionServer builds the tester for one session, with its own
// manager. The manager is closed when the session ends; until the session's
// first request nothing is running, so one that never starts leaks nothing.
// reserved is the request's place among MaxSessions, used is set by the
// first request other than the handshake, and idle (when not nil) is held
// stopped while a request runs (see perSession), and late closes a session
// that starts after shutdown once the request that started it ends.
func (s *Server) newSessionServer(reserved, used *atomic.Bool, idle *idleTimer, late *lateClose) *mcp.Server {
	s.mu.Lock()
	s.n++
	logger := s.log.With("session", s.n)
	s.mu.Unlock()
	mgr := s.opts.Manager(logger, s.policy)
	srv := s.opts.Tester(logger, mgr)
	var once sync.Once
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method != "initialize" && method != "notifications/initialized" {
				used.Store(true)
			}
			if ss, ok := req.GetSession().(*mcp.ServerSession); ok {
				once.Do(func() { s.track(ss, mgr, logger, reserved, used, late) })
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
// closes it when it is still unused after UnusedSessionTimeout, and closes
// mgr (and so the session's target) when ss ends. A manager is never closed
// while s.mu is held: closing a target can take seconds (one that ignores
// SIGTERM is killed only after a grace period), and every other session's
// start and end waits for s.mu.
func (s *Server) track(ss *mcp.ServerSession, mgr *connmgr.Manager, logger *slog.Logger, reserved, used *atomic.Bool, late *lateClose) {
	s.mu.Lock()
	if reserved.CompareAndSwap(true, false) {
		s.starting--
	}
	if s.closed {
		s.mu.Unlock()
		// ss.Close waits for the request under way, which is the caller's:
		// it must not run here, but when the request that started the
		// session ends.
		late.close(ss)
		_ = mgr.Close()
		return
	}
	s.sessions[ss] = true
	unused := time.AfterFunc(s.opts.UnusedSessionTimeout, func() {
		if !used.Load() {
			logger.Info("closing a session that sent nothing after initialize", "after", s.opts.UnusedSessionTimeout)
			_ = ss.Close()
		}
	})
	// Added under s.mu, before shutdown can see closed and wait.
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
	s.mu.Unlock()
	logger.Info("session started")
}

// lateClose closes a session that started after shutdown, from the
// goroutine of the request that started it, once that request has ended
// (ss.Close waits for requests under way, so it cannot run inside one).
type lateClose struct {
	mu   sync.Mutex
	ss   *mcp.ServerSession // to close; guarded by mu
	done bool               // run has been called; guarded by mu
}

// close has ss closed by run. When run has already been called, the
// request that started the session has ended: that is an SSE session's
// GET, and go-sdk closes the session itself when its GET returns.
func (l *lateClose) close(ss *mcp.ServerSession) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.ss = ss
	}
}

// run closes the session handed to close, if any.
func (l *lateClose) run() {
	l.mu.Lock()
	l.done = true
	ss := l.ss
	l.mu.Unlock()
	if ss != nil {
		_ = ss.Close()
	}
}
