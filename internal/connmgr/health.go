package connmgr

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"
)

// Health monitoring parameters.
const (
	// HealthWindow is how many recent pings Health.Score looks at.
	HealthWindow = 10
	// UnhealthyAfter is how many pings in a row may fail before a connection
	// with Spec.AutoReconnect is treated as lost and reconnected.
	UnhealthyAfter = 3
	// MaxPingTimeout caps a health ping's deadline, which is otherwise the
	// check interval.
	MaxPingTimeout = 10 * time.Second
	// LatencyReference is the mean ping round trip up to which latency does
	// not lower Health.Score; above it the score is scaled by
	// LatencyReference / mean.
	LatencyReference = 250 * time.Millisecond
)

// Health is what the health monitor's pings found. The pings are not
// counted in Statistics, which describe what the user did.
type Health struct {
	// Score is (successful pings / pings) over the last HealthWindow pings,
	// times min(1, LatencyReference / mean round trip of the successful
	// ones), rounded to 2 decimals; 0 when none succeeded, nil before the
	// first ping.
	Score *float64 `json:"score"`
	// LastPingMS is the round trip of the last successful ping.
	LastPingMS *float64 `json:"last_ping_ms"`
	// ConsecutiveFailures counts the failed pings since the last success.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// LastError is why the last failed ping failed (redacted).
	LastError string `json:"last_error,omitempty"`
	// Pings and Failures count every ping of this connection.
	Pings    int `json:"pings"`
	Failures int `json:"failures"`
	// IntervalSeconds is the time between pings.
	IntervalSeconds float64 `json:"interval_seconds"`
	// LastPingAt is when the last ping was sent.
	LastPingAt *time.Time `json:"last_ping_at"`
}

// monitor keeps the results of one connection's health pings.
type monitor struct {
	interval time.Duration
	timeout  time.Duration

	mu sync.Mutex
	// The fields below are guarded by mu. window is a ring of the last
	// HealthWindow pings, the next one going to next once it is full.
	window      []pingSample
	next        int
	pings       int
	failures    int
	consecutive int
	lastRTT     time.Duration
	hasRTT      bool
	lastErr     string
	lastAt      time.Time
}

type pingSample struct {
	ok  bool
	rtt time.Duration
}

func newMonitor(interval time.Duration) *monitor {
	return &monitor{interval: interval, timeout: min(interval, MaxPingTimeout)}
}

func (h *monitor) add(s pingSample, at time.Time) {
	h.pings++
	h.lastAt = at
	if len(h.window) < HealthWindow {
		h.window = append(h.window, s)
	} else {
		h.window[h.next] = s
		h.next = (h.next + 1) % HealthWindow
	}
}

// succeeded records a ping answered after rtt.
func (h *monitor) succeeded(at time.Time, rtt time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.add(pingSample{ok: true, rtt: rtt}, at)
	h.consecutive = 0
	h.lastRTT, h.hasRTT = rtt, true
}

// failed records a failed ping and returns the failures in a row.
func (h *monitor) failed(at time.Time, reason string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.add(pingSample{}, at)
	h.failures++
	h.consecutive++
	h.lastErr = reason
	return h.consecutive
}

func (h *monitor) snapshot() Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := Health{
		ConsecutiveFailures: h.consecutive,
		LastError:           h.lastErr,
		Pings:               h.pings,
		Failures:            h.failures,
		IntervalSeconds:     round2(h.interval.Seconds()),
	}
	if h.hasRTT {
		ms := round2(float64(h.lastRTT) / float64(time.Millisecond))
		out.LastPingMS = &ms
	}
	if !h.lastAt.IsZero() {
		at := h.lastAt.UTC()
		out.LastPingAt = &at
	}
	if s, ok := score(h.window); ok {
		out.Score = &s
	}
	return out
}

// score is Health.Score of a window of pings; ok is false when it is empty.
func score(window []pingSample) (float64, bool) {
	if len(window) == 0 {
		return 0, false
	}
	var okN int
	var total time.Duration
	for _, s := range window {
		if s.ok {
			okN++
			total += s.rtt
		}
	}
	if okN == 0 {
		return 0, true
	}
	factor := 1.0
	if mean := total / time.Duration(okN); mean > LatencyReference {
		factor = float64(LatencyReference) / float64(mean)
	}
	return round2(float64(okN) / float64(len(window)) * factor), true
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// startMonitor starts the health monitor, if the spec asks for one. The
// goroutine belongs to c: finish stops it (by ending c.ctx and closing the
// transport) and waits for it.
func (c *conn) startMonitor() {
	if c.health == nil {
		return
	}
	c.bg.start(c.monitorLoop)
}

// monitorLoop pings the target every interval. A ping that shows the
// connection is gone (the transport closed, the HTTP server refused or
// answered with an error status) marks it dead at once; with AutoReconnect,
// so do UnhealthyAfter failed pings in a row (a target that stopped
// answering). Without it, a slow target is only reported, never dropped.
func (c *conn) monitorLoop() {
	t := time.NewTicker(c.health.interval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		if c.isDead() {
			return
		}
		var httpFailures int
		if c.rt != nil {
			httpFailures = c.rt.failures()
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.health.timeout)
		at := time.Now()
		err := c.cs.Ping(ctx, nil)
		rtt := time.Since(at)
		timedOut := ctx.Err() != nil
		cancel()
		if c.ctx.Err() != nil || c.closing.Load() {
			return // we are closing it: not the target's failure
		}
		if err == nil {
			c.health.succeeded(at, rtt)
			continue
		}
		reason := c.scrub(err.Error())
		lost := isConnErr(err) || c.isDead()
		if timedOut {
			reason = fmt.Sprintf("no answer within %s", c.health.timeout)
		}
		if c.rt != nil && !timedOut {
			if herr := c.rt.failureSince(httpFailures); herr != nil {
				// The ping failed at once with an HTTP failure. Nothing
				// answering, or a server that no longer knows the session,
				// is a lost transport; a throttling or transient status
				// (429, 5xx) is only a failed ping.
				reason = c.scrub(herr.Error())
				switch herr.StatusCode {
				case 0, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
					lost = true
				}
			}
		}
		n := c.health.failed(at, reason)
		c.log.Debug("health ping failed", "error", reason, "in_a_row", n)
		switch {
		case lost:
			c.markDead("a health ping failed: " + reason)
		case c.spec.AutoReconnect && n >= UnhealthyAfter:
			c.markDead(fmt.Sprintf("the target did not answer %d health pings in a row (the last: %s)", n, reason))
		}
	}
}

// unrecordedKey marks a context whose requests are the tester's own
// (surface snapshots for reconnect), kept out of the user's statistics.
type unrecordedKey struct{}

func withoutStats(ctx context.Context) context.Context {
	return context.WithValue(ctx, unrecordedKey{}, true)
}

func unrecorded(ctx context.Context) bool {
	v, _ := ctx.Value(unrecordedKey{}).(bool)
	return v
}
