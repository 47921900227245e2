// Package stats counts what happens on one connection to a target: how many
// tools were called, resources read and prompts rendered, how many requests
// failed, and how long each MCP method took.
//
// A Recorder is safe for concurrent use. Snapshot returns a copy that the
// caller owns.
package stats

import (
	"math"
	"slices"
	"sync"
	"time"
)

// maxSamples bounds the latency samples kept per method. Past it, the oldest
// samples are overwritten, so percentiles describe the most recent requests
// while count, mean and max cover all of them.
const maxSamples = 1024

// Kind says which feature counter a request advances, besides the per-method
// summary.
type Kind int

// Request kinds.
const (
	KindOther    Kind = iota // counts in requests and by_method only
	KindTool                 // tools/call answered by the target
	KindResource             // resources/read and other resource access
	KindPrompt               // prompts/get
)

// Snapshot is a point-in-time copy of a Recorder's counters.
type Snapshot struct {
	ToolsCalled       int                       `json:"tools_called"`
	ResourcesAccessed int                       `json:"resources_accessed"`
	PromptsExecuted   int                       `json:"prompts_executed"`
	Errors            int                       `json:"errors"`
	Requests          int                       `json:"requests"`
	ByMethod          map[string]MethodSnapshot `json:"by_method"`
	LastRequestAt     *time.Time                `json:"last_request_at"`
}

// MethodSnapshot summarises the latency of one MCP method, in milliseconds
// rounded to two decimals.
type MethodSnapshot struct {
	Count  int     `json:"count"`
	Errors int     `json:"errors"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P95MS  float64 `json:"p95_ms"`
	MaxMS  float64 `json:"max_ms"`
}

// Recorder accumulates statistics for one connection.
type Recorder struct {
	mu sync.Mutex
	// The fields below are guarded by mu.
	snap    Snapshot
	methods map[string]*method
}

type method struct {
	count, errors int
	total, max    time.Duration
	samples       []time.Duration // ring of the last maxSamples durations
	next          int             // where the next sample goes once samples is full
}

// New returns an empty Recorder.
func New() *Recorder {
	return &Recorder{methods: make(map[string]*method)}
}

// Record notes one request of the given MCP method that took d. A request the
// target answered counts toward its kind's counter; a failed one (failed is
// true) counts in errors instead. at is when the request was made.
func (r *Recorder) Record(methodName string, kind Kind, at time.Time, d time.Duration, failed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snap.Requests++
	if at = at.UTC(); r.snap.LastRequestAt == nil || at.After(*r.snap.LastRequestAt) {
		r.snap.LastRequestAt = &at
	}
	if failed {
		r.snap.Errors++
	} else {
		switch kind {
		case KindTool:
			r.snap.ToolsCalled++
		case KindResource:
			r.snap.ResourcesAccessed++
		case KindPrompt:
			r.snap.PromptsExecuted++
		}
	}
	m := r.methods[methodName]
	if m == nil {
		m = &method{}
		r.methods[methodName] = m
	}
	m.count++
	if failed {
		m.errors++
	}
	m.total += d
	m.max = max(m.max, d)
	if len(m.samples) < maxSamples {
		m.samples = append(m.samples, d)
	} else {
		m.samples[m.next] = d
		m.next = (m.next + 1) % maxSamples
	}
}

// RecordRefused notes a request that never reached the target (refused by
// the tester, for example an unknown tool name). It counts only in errors.
func (r *Recorder) RecordRefused() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snap.Errors++
}

// Snapshot returns a copy of the current statistics.
func (r *Recorder) Snapshot() Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.snap
	if s.LastRequestAt != nil {
		t := *s.LastRequestAt
		s.LastRequestAt = &t
	}
	s.ByMethod = make(map[string]MethodSnapshot, len(r.methods))
	for name, m := range r.methods {
		sorted := slices.Clone(m.samples)
		slices.Sort(sorted)
		s.ByMethod[name] = MethodSnapshot{
			Count:  m.count,
			Errors: m.errors,
			MeanMS: ms(m.total / time.Duration(m.count)),
			P50MS:  ms(percentile(sorted, 0.50)),
			P95MS:  ms(percentile(sorted, 0.95)),
			MaxMS:  ms(m.max),
		}
	}
	return s
}

// percentile returns the nearest-rank percentile p (0 < p ≤ 1) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(rank, 0)]
}

// ms converts d to milliseconds rounded to two decimals.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*100) / 100
}
