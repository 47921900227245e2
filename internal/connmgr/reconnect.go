package connmgr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/stats"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/surface"
)

// Reconnect defaults, for Spec's zero values.
const (
	DefaultMaxReconnectAttempts = 5
	DefaultReconnectDelay       = time.Second
	// MaxReconnectDelay caps the doubling delay between attempts.
	MaxReconnectDelay = 60 * time.Second
)

// EventReconnect is the event kind of the reconnect log: one event when a
// connection is lost and recovery starts, one per attempt, and one per
// outcome (Data.outcome: lost, attempt, failed, reconnected, gave_up).
const EventReconnect = "reconnect"

// ErrReconnectFailed is wrapped by the LostError of a request made after an
// automatic recovery gave up.
var ErrReconnectFailed = errors.New("reconnecting to the target failed")

// ReconnectState describes an automatic recovery of a lost connection.
type ReconnectState struct {
	// State is reconnecting while attempts go on, error once they gave up.
	State Status `json:"state"`
	// Attempt is the current (or last) attempt, from 1.
	Attempt     int `json:"attempt"`
	MaxAttempts int `json:"max_attempts"`
	// LostReason says why the connection was lost.
	LostReason string `json:"lost_reason"`
	// LastError is why the last attempt failed (redacted).
	LastError string `json:"last_error,omitempty"`
	// NextAttemptAt is when the next attempt starts, while waiting for it.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// Since is when the connection was lost.
	Since time.Time `json:"since"`
}

// lineage is what carries over from one generation of a connection to the
// next: how to make it, its identity and its statistics.
type lineage struct {
	spec       Spec // secret: never shown
	id         string
	stats      *stats.Recorder
	reconnects int
	static     Info             // the last generation's fixed Info
	surface    *surface.Surface // the last generation's surface, if known
	scrub      func(string) string
}

func (c *conn) lineage() *lineage {
	c.mu.Lock()
	last, tools := c.surface, c.tools
	c.mu.Unlock()
	if last == nil && tools != nil {
		// What list_tools last saw is better than nothing.
		last = &surface.Surface{Tools: tools, Listed: surface.Listed{Tools: true}}
	}
	return &lineage{spec: c.spec, id: c.id, stats: c.stats, reconnects: c.reconnects, static: c.static, surface: last, scrub: c.scrub}
}

// recovery is the automatic reconnection of one lost connection. Its
// goroutine (Manager.recover) belongs to the Manager: stop cancels it and
// waits for it.
type recovery struct {
	lin    *lineage
	reason string
	max    int
	base   time.Duration
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine has returned

	// The fields below are guarded by Manager.mu.
	state   Status
	attempt int
	lastErr string
	nextAt  time.Time
	since   time.Time
}

func newRecovery(lin *lineage, reason string) *recovery {
	ctx, cancel := context.WithCancel(context.Background())
	r := &recovery{
		lin: lin, reason: reason, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		max: maxAttempts(lin.spec), base: orDefault(lin.spec.ReconnectDelay, DefaultReconnectDelay),
		state: StatusReconnecting, since: time.Now().UTC(),
	}
	return r
}

// maxAttempts is how many times an automatic recovery of spec's
// connection tries.
func maxAttempts(spec Spec) int {
	return orDefault(spec.MaxReconnectAttempts, DefaultMaxReconnectAttempts)
}

// stop cancels the recovery and waits for its goroutine; nil is fine.
func (r *recovery) stop() {
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
}

// stateLocked describes r; Manager.mu must be held.
func (r *recovery) stateLocked() *ReconnectState {
	s := &ReconnectState{State: r.state, Attempt: r.attempt, MaxAttempts: r.max, LostReason: r.reason, LastError: r.lastErr, Since: r.since}
	if !r.nextAt.IsZero() && r.state == StatusReconnecting {
		at := r.nextAt.UTC()
		s.NextAttemptAt = &at
	}
	return s
}

// failure is the error of a request made after r gave up.
func (r *recovery) failure(s *ReconnectState) error {
	return &LostError{
		Reason: fmt.Sprintf("the target was lost (%s) and %d reconnect attempts failed; the last one: %s",
			strings.TrimSuffix(s.LostReason, "."), s.Attempt, strings.TrimSuffix(s.LastError, ".")),
		Err: ErrReconnectFailed,
	}
}

// backoff is the wait before attempt n (from 1): base doubled n-1 times,
// with ±20% jitter, at most MaxReconnectDelay.
func backoff(base time.Duration, n int) time.Duration {
	d := float64(base) * math.Pow(2, float64(n-1))
	d *= 0.8 + 0.4*rand.Float64()
	return time.Duration(min(d, float64(MaxReconnectDelay)))
}

// startRecovery runs r in a goroutine owned by m; the caller has added it
// to m.bg.
func (m *Manager) startRecovery(r *recovery) {
	m.log.Info("connection lost; reconnecting", "connection", r.lin.id, "reason", r.reason, "max_attempts", r.max)
	go func() {
		defer m.bg.Done()
		defer close(r.done)
		m.recover(r)
	}()
}

// recover dials the lost connection's Spec again, with backoff, until it
// works, the attempts run out (state error) or r is stopped.
func (m *Manager) recover(r *recovery) {
	id := r.lin.id
	for n := 1; n <= r.max; n++ {
		delay := backoff(r.base, n)
		m.mu.Lock()
		r.attempt, r.nextAt = n, time.Now().Add(delay)
		m.mu.Unlock()
		t := time.NewTimer(delay)
		select {
		case <-r.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		m.events.add(EventReconnect, "", id, map[string]any{"outcome": "attempt", "attempt": n, "max_attempts": r.max})
		c, err := m.dial(r.ctx, r.lin.spec, r.lin)
		if r.ctx.Err() != nil {
			if err == nil {
				c.closing.Store(true)
				c.finish(EndedByDisconnect)
			}
			return
		}
		if err != nil {
			msg := r.lin.scrub(err.Error())
			m.events.add(EventReconnect, "", id, map[string]any{"outcome": "failed", "attempt": n, "max_attempts": r.max, "error": msg})
			m.log.Info("reconnect attempt failed", "connection", id, "attempt", n, "error", msg)
			m.mu.Lock()
			r.lastErr = msg
			m.mu.Unlock()
			continue
		}
		diff := surface.Compare(r.lin.surface, c.fetchSurface(r.ctx))
		if !m.install(r, c, map[string]any{"outcome": "reconnected", "attempt": n, "trigger": "auto", "reconnects": c.reconnects, "changes": diff}) {
			return
		}
		m.log.Info("reconnected", "connection", id, "attempt", n)
		return
	}
	m.mu.Lock()
	lastErr := r.lastErr
	// Recorded before the state shows, as in install.
	m.events.add(EventReconnect, "", id, map[string]any{"outcome": "gave_up", "attempts": r.max, "error": lastErr})
	r.state, r.nextAt = StatusError, time.Time{}
	m.mu.Unlock()
	m.log.Warn("gave up reconnecting", "connection", id, "attempts", r.max, "error", lastErr)
}

// install makes c, dialed by r, the current connection and records the
// reconnect event with data, unless r was stopped meanwhile; then c is
// closed and install returns false. The event goes first, so that whoever
// sees c connected also finds the event that says so.
func (m *Manager) install(r *recovery, c *conn, data map[string]any) bool {
	raw := encodeEvent(data)
	m.mu.Lock()
	ok := m.pending == r && m.cur == nil && !m.closed
	if ok {
		m.events.add(EventReconnect, "", r.lin.id, raw)
		m.cur, m.pending = c, nil
	}
	m.mu.Unlock()
	if !ok {
		c.closing.Store(true)
		c.finish(EndedByDisconnect)
		return false
	}
	c.startWatch()
	return true
}

// takePending removes the recovery in progress, if any, for the caller to
// stop (outside mu).
func (m *Manager) takePending() *recovery {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.pending
	m.pending = nil
	return r
}

// acquire returns the live connection. While a lost connection is being
// recovered it waits for the outcome, at most timeout (zero: the lost
// connection's call timeout) and while ctx lasts.
func (m *Manager) acquire(ctx context.Context, timeout time.Duration) (*conn, error) {
	var deadline <-chan time.Time
	for {
		if c := m.current(); c != nil {
			return c, nil
		}
		m.mu.Lock()
		r := m.pending
		var s *ReconnectState
		if r != nil {
			s = r.stateLocked()
		}
		m.mu.Unlock()
		switch {
		case r == nil:
			return nil, ErrNotConnected
		case s.State == StatusError:
			return nil, r.failure(s)
		}
		if deadline == nil {
			timeout = orDefault(timeout, r.lin.static.CallTimeout)
			t := time.NewTimer(timeout)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline:
			return nil, &LostError{Reason: fmt.Sprintf("the target was lost (%s) and is being reconnected (attempt %d of %d); it was not back within %s",
				strings.TrimSuffix(s.LostReason, "."), s.Attempt, s.MaxAttempts, timeout)}
		}
	}
}

// ReconnectResult is what Reconnect did.
type ReconnectResult struct {
	// Info is the new connection.
	Info *Info
	// Previous is the connection it replaced (ended_by replaced), or the
	// one that had been lost.
	Previous *Previous
	// Changes is how the target's tools, resources, templates and prompts
	// differ from the previous connection's.
	Changes surface.Diff
}

// Reconnect connects again with the Spec of the current connection, or of
// the last one when none is live (a lost one, one being recovered, or one
// that was disconnected). Statistics carry over and Info.Reconnects goes up.
// Like Connect it is make before break: when the new connection fails, a
// live one is left as it was. With no connection to repeat it returns
// ErrNotConnected.
func (m *Manager) Reconnect(ctx context.Context) (*ReconnectResult, error) {
	m.connectMu.Lock()
	defer m.connectMu.Unlock()
	old := m.current()
	r := m.takePending()
	r.stop()
	var lin *lineage
	var before *surface.Surface
	switch {
	case old != nil:
		before = old.fetchSurface(ctx)
		lin = old.lineage()
	case r != nil:
		lin = r.lin
	default:
		m.mu.Lock()
		lin = m.lastLin
		m.mu.Unlock()
	}
	if lin == nil {
		return nil, ErrNotConnected
	}
	if before == nil {
		before = lin.surface
	}
	m.events.add(EventReconnect, "", lin.id, map[string]any{"outcome": "attempt", "trigger": "manual"})
	c, err := m.dial(ctx, lin.spec, lin)
	if err != nil {
		msg := lin.scrub(err.Error())
		m.events.add(EventReconnect, "", lin.id, map[string]any{"outcome": "failed", "trigger": "manual", "error": msg})
		if r != nil {
			// Keep showing the lost connection, now as failed.
			failed := newRecovery(lin, r.reason)
			failed.state, failed.attempt, failed.lastErr, failed.since = StatusError, r.attempt, msg, r.since
			failed.cancel()
			close(failed.done)
			m.mu.Lock()
			if m.cur == nil && m.pending == nil {
				m.pending = failed
			}
			m.mu.Unlock()
		}
		return nil, err
	}
	diff := surface.Compare(before, c.fetchSurface(ctx))
	reconnected := encodeEvent(map[string]any{"outcome": "reconnected", "trigger": "manual", "reconnects": c.reconnects, "changes": diff})
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		c.closing.Store(true)
		c.finish(EndedByDisconnect)
		return nil, ErrClosed
	}
	m.events.add(EventReconnect, "", lin.id, reconnected) // before c shows, as in install
	m.cur = c
	raced := m.pending // old died meanwhile and started its own recovery
	m.pending = nil
	m.mu.Unlock()
	raced.stop()
	c.startWatch()
	var prev *Previous
	if old != nil {
		prev, _ = m.retire(old, EndedByReplaced)
	} else {
		m.mu.Lock()
		prev = m.last
		m.mu.Unlock()
	}
	in := c.info()
	return &ReconnectResult{Info: &in, Previous: prev, Changes: diff}, nil
}
