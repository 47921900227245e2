package connmgr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/stats"
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
	static     Info     // the last generation's fixed Info
	surface    *Surface // the last generation's surface, if known
	scrub      func(string) string
}

func (c *conn) lineage() *lineage {
	c.mu.Lock()
	surface, tools := c.surface, c.tools
	c.mu.Unlock()
	if surface == nil && tools != nil {
		// What list_tools last saw is better than nothing.
		surface = &Surface{Tools: tools, known: map[string]bool{"tools": true}}
	}
	return &lineage{spec: c.spec, id: c.id, stats: c.stats, reconnects: c.reconnects, static: c.static, surface: surface, scrub: c.scrub}
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
		diff := r.lin.surface.Diff(c.fetchSurface(r.ctx))
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
	Changes SurfaceDiff
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
	var before *Surface
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
	diff := before.Diff(c.fetchSurface(ctx))
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

// Surface is what a target offers: its tools, resources, resource templates
// and prompts, as listed at one time.
type Surface struct {
	Tools             []*mcp.Tool
	Resources         []*mcp.Resource
	ResourceTemplates []*mcp.ResourceTemplate
	Prompts           []*mcp.Prompt
	// known holds the kinds that were listed ("tools", "resources",
	// "resource_templates", "prompts").
	known map[string]bool
}

// surfaceTimeout bounds each list of a surface snapshot.
const surfaceTimeout = 10 * time.Second

// fetchSurface lists what the target offers, for reconnect diffs, without
// counting the requests in the statistics. A list that is not declared or
// fails is left unknown. The result is kept on c.
func (c *conn) fetchSurface(ctx context.Context) *Surface {
	ctx = withoutStats(ctx)
	timeout := min(c.callTimeout, surfaceTimeout)
	s := &Surface{known: map[string]bool{}}
	caps := c.static.Capabilities
	if caps != nil && caps.Tools != nil {
		if tools, err := c.listTools(ctx, timeout); err == nil {
			s.Tools, s.known["tools"] = tools, true
		}
	}
	if caps != nil && caps.Resources != nil {
		res, err := listAll(ctx, c, "resources/list", stats.KindOther, timeout, func(ctx context.Context, cursor string) ([]*mcp.Resource, string, error) {
			r, err := c.cs.ListResources(ctx, &mcp.ListResourcesParams{Cursor: cursor})
			if err != nil {
				return nil, "", err
			}
			return r.Resources, r.NextCursor, nil
		})
		if err == nil {
			s.Resources, s.known["resources"] = res, true
		}
		tpl, err := listAll(ctx, c, "resources/templates/list", stats.KindOther, timeout, func(ctx context.Context, cursor string) ([]*mcp.ResourceTemplate, string, error) {
			r, err := c.cs.ListResourceTemplates(ctx, &mcp.ListResourceTemplatesParams{Cursor: cursor})
			if err != nil {
				return nil, "", err
			}
			return r.ResourceTemplates, r.NextCursor, nil
		})
		if err == nil {
			s.ResourceTemplates, s.known["resource_templates"] = tpl, true
		}
	}
	if caps != nil && caps.Prompts != nil {
		if prompts, err := c.listPrompts(ctx); err == nil {
			s.Prompts, s.known["prompts"] = prompts, true
		}
	}
	c.mu.Lock()
	c.surface = s
	c.mu.Unlock()
	return s
}

// SurfaceDiff is how a target's surface changed between two connections.
type SurfaceDiff struct {
	Tools             ListDiff `json:"tools"`
	Resources         ListDiff `json:"resources"`
	ResourceTemplates ListDiff `json:"resource_templates"`
	Prompts           ListDiff `json:"prompts"`
	// Changed is true when anything was added, removed or changed.
	Changed bool `json:"changed"`
}

// ListDiff compares one list: items are named by name (tools, prompts),
// uri (resources) or uriTemplate (templates).
type ListDiff struct {
	// Compared is false when the list was not had on both sides (not
	// declared, failed, or the old connection was lost before it was
	// listed); the other fields are then empty.
	Compared bool         `json:"compared"`
	Added    []string     `json:"added"`
	Removed  []string     `json:"removed"`
	Changed  []ItemChange `json:"changed"`
}

// ItemChange is one item present on both sides whose definition changed.
type ItemChange struct {
	Name string `json:"name"`
	// Reason names the fields that changed: "inputSchema changed,
	// description changed".
	Reason string `json:"reason"`
}

// Diff compares s (before) with after. A nil side counts as not listed.
func (s *Surface) Diff(after *Surface) SurfaceDiff {
	var d SurfaceDiff
	known := func(x *Surface, kind string) bool { return x != nil && x.known[kind] }
	both := func(kind string) bool { return known(s, kind) && known(after, kind) }
	if both("tools") {
		d.Tools = diffLists(s.Tools, after.Tools, "name")
	}
	if both("resources") {
		d.Resources = diffLists(s.Resources, after.Resources, "uri")
	}
	if both("resource_templates") {
		d.ResourceTemplates = diffLists(s.ResourceTemplates, after.ResourceTemplates, "uriTemplate")
	}
	if both("prompts") {
		d.Prompts = diffLists(s.Prompts, after.Prompts, "name")
	}
	for _, l := range []*ListDiff{&d.Tools, &d.Resources, &d.ResourceTemplates, &d.Prompts} {
		if l.Added == nil {
			l.Added = []string{}
		}
		if l.Removed == nil {
			l.Removed = []string{}
		}
		if l.Changed == nil {
			l.Changed = []ItemChange{}
		}
		d.Changed = d.Changed || len(l.Added)+len(l.Removed)+len(l.Changed) > 0
	}
	return d
}

// diffLists compares two lists by their wire form, field by field.
func diffLists[T any](before, after []T, key string) ListDiff {
	index := func(items []T) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, it := range items {
			b, err := json.Marshal(it)
			if err != nil {
				continue
			}
			var fields map[string]any
			if json.Unmarshal(b, &fields) != nil {
				continue
			}
			name, _ := fields[key].(string)
			out[name] = fields
		}
		return out
	}
	old, cur := index(before), index(after)
	d := ListDiff{Compared: true}
	for name, fields := range cur {
		prev, ok := old[name]
		if !ok {
			d.Added = append(d.Added, name)
			continue
		}
		var changed []string
		for f := range union(prev, fields) {
			if !reflect.DeepEqual(prev[f], fields[f]) {
				changed = append(changed, f+" changed")
			}
		}
		if len(changed) > 0 {
			slices.Sort(changed)
			d.Changed = append(d.Changed, ItemChange{Name: name, Reason: strings.Join(changed, ", ")})
		}
	}
	for name := range old {
		if _, ok := cur[name]; !ok {
			d.Removed = append(d.Removed, name)
		}
	}
	slices.Sort(d.Added)
	slices.Sort(d.Removed)
	slices.SortFunc(d.Changed, func(a, b ItemChange) int { return strings.Compare(a.Name, b.Name) })
	return d
}

func union(a, b map[string]any) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
