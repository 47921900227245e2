package connmgr

import (
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"time"
)

// Event kinds: what the target sent on its own, or asked of us.
const (
	EventLog                  = "log"                    // notifications/message
	EventProgress             = "progress"               // notifications/progress
	EventToolsListChanged     = "tools_list_changed"     // notifications/tools/list_changed
	EventResourcesListChanged = "resources_list_changed" // notifications/resources/list_changed
	EventPromptsListChanged   = "prompts_list_changed"   // notifications/prompts/list_changed
	EventResourceUpdated      = "resource_updated"       // notifications/resources/updated
	EventStdout               = "stdout"                 // a stdout line that is not JSON-RPC
	EventStderr               = "stderr"                 // a stderr line
	EventRequest              = "request"                // a request from the target, and our answer
	EventOther                = "other"                  // any other notification
)

// EventKinds lists every event kind.
var EventKinds = []string{
	EventLog, EventProgress, EventToolsListChanged, EventResourcesListChanged,
	EventPromptsListChanged, EventResourceUpdated, EventStdout, EventStderr,
	EventRequest, EventOther, EventReconnect,
}

// DefaultMaxEvents is how many events are kept when Options.MaxEvents is zero.
const DefaultMaxEvents = 1000

// Event is one thing the target sent on its own (or asked of us).
type Event struct {
	// Seq increases by one per event, across connections, until Clear.
	Seq          int64     `json:"seq"`
	At           time.Time `json:"at"`
	Kind         string    `json:"kind"`
	Method       string    `json:"method,omitempty"`
	ConnectionID string    `json:"connection_id"`
	// Data is the notification's params in wire form; {"line": …} for
	// stdout and stderr; for a request {"params", "answered_by", "result"
	// or "error"}. Data over MaxEventData bytes is cut when stored: it is
	// then a JSON string holding the start of the JSON text, and Truncated
	// and SizeBytes say so.
	Data json.RawMessage `json:"data,omitempty"`
	// Truncated is true when Data was cut; SizeBytes is then the size of
	// its JSON text before the cut.
	Truncated bool `json:"truncated,omitempty"`
	SizeBytes int  `json:"size_bytes,omitempty"`
}

// EventQuery selects events.
type EventQuery struct {
	// Kinds keeps only these kinds; empty means all.
	Kinds []string
	// Since keeps only events with Seq greater than it.
	Since int64
	// Limit keeps the newest Limit events; zero means all that match.
	Limit int
}

// EventPage is the answer to an EventQuery.
type EventPage struct {
	Events []Event
	// Counts is the number of events received per kind since the last
	// Clear, including those no longer kept.
	Counts map[string]int
	// Dropped counts events pushed out of the bounded buffer.
	Dropped int64
	// LastSeq is the Seq of the newest event (0 if none).
	LastSeq int64
}

// eventLog is a bounded buffer of events. It is safe for concurrent use.
type eventLog struct {
	mu sync.Mutex
	// The fields below are guarded by mu. buf is a ring of the newest
	// events, at most max, the oldest at start; seq is the Seq of the newest.
	max     int
	buf     []Event
	start   int
	seq     int64
	counts  map[string]int
	dropped int64
}

func newEventLog(max int) *eventLog {
	return &eventLog{max: max, counts: map[string]int{}}
}

// add records an event. It takes only l.mu, and data given as
// json.RawMessage is not encoded again: a caller that must record an event
// while it holds its own lock (see Manager.install) encodes it first.
func (l *eventLog) add(kind, method, connID string, data any) {
	raw, truncated, size := cutJSON(encodeEvent(data), MaxEventData)
	if !truncated {
		size = 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	l.counts[kind]++
	e := Event{Seq: l.seq, At: time.Now().UTC(), Kind: kind, Method: method, ConnectionID: connID, Data: raw, Truncated: truncated, SizeBytes: size}
	if len(l.buf) < l.max {
		l.buf = append(l.buf, e)
		return
	}
	l.buf[l.start] = e
	l.start = (l.start + 1) % l.max
	l.dropped++
}

// encodeEvent is an event's data in wire form.
func encodeEvent(data any) json.RawMessage {
	if raw, ok := data.(json.RawMessage); ok || data == nil {
		return raw
	}
	b, err := json.Marshal(data)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"unencodable": err.Error()})
	}
	return b
}

func (l *eventLog) query(q EventQuery) EventPage {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for i := range l.buf {
		e := l.buf[(l.start+i)%len(l.buf)]
		if e.Seq > q.Since && (len(q.Kinds) == 0 || slices.Contains(q.Kinds, e.Kind)) {
			out = append(out, e)
		}
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[len(out)-q.Limit:]
	}
	if out == nil {
		out = []Event{}
	}
	return EventPage{Events: out, Counts: maps.Clone(l.counts), Dropped: l.dropped, LastSeq: l.seq}
}

// countsByKind returns how many events of each kind were received since the
// last clear.
func (l *eventLog) countsByKind() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.counts)
}

// clear forgets the events up to and including seq through (all of them
// when through is 0 or beyond the newest), and resets the counts and the
// dropped count; Seq goes on, so that a client's since stays meaningful.
func (l *eventLog) clear(through int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var kept []Event
	for i := range l.buf {
		if e := l.buf[(l.start+i)%len(l.buf)]; through > 0 && e.Seq > through {
			kept = append(kept, e)
		}
	}
	l.buf, l.start = kept, 0
	l.counts = map[string]int{}
	for _, e := range kept {
		l.counts[e.Kind]++
	}
	l.dropped = 0
}

// kindOf maps a notification method to its event kind.
func kindOf(method string) string {
	switch method {
	case "notifications/message":
		return EventLog
	case "notifications/progress":
		return EventProgress
	case "notifications/tools/list_changed":
		return EventToolsListChanged
	case "notifications/resources/list_changed":
		return EventResourcesListChanged
	case "notifications/prompts/list_changed":
		return EventPromptsListChanged
	case "notifications/resources/updated":
		return EventResourceUpdated
	}
	return EventOther
}

// lineWriter splits a byte stream into lines and hands each to emit; a line
// longer than max is cut. It is used for a stdio target's stderr.
type lineWriter struct {
	max  int
	emit func(line string, size int) // size: the line's length before the cut at max
	mu   sync.Mutex
	buf  []byte // guarded by mu: the unfinished last line
	size int    // guarded by mu: the unfinished last line's length before the cut
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := slices.Index(p, '\n')
		if i < 0 {
			room := max(w.max-len(w.buf), 0)
			w.buf = append(w.buf, p[:min(len(p), room)]...)
			w.size += len(p)
			break
		}
		room := max(w.max-len(w.buf), 0)
		w.buf = append(w.buf, p[:min(i, room)]...)
		w.size += i
		if line := string(trimCR(w.buf)); line != "" {
			w.emit(line, max(w.size-(len(w.buf)-len(line)), len(line)))
		}
		w.buf, w.size = w.buf[:0], 0
		p = p[i+1:]
	}
	return n, nil
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}
