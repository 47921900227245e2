package connmgr

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// capBody bounds what one message in resp's body may cost: the decoded bytes
// count (Go's transport gunzips a body it asked to be compressed, so a 1 MB
// body can be 400 MB of JSON). A JSON answer over the cap is replaced by a
// made-up error answer for the request it answers, which fails that call
// with a MessageTooLargeError; so is an SSE event over the cap that carries
// an id. On a POST's event stream the made-up answer waits, as over stdio,
// for defaultHoldGrace or the end of the stream, whichever comes first, so
// that a real answer with the same id after the oversized one wins; on a GET
// stream it is handed out at once. An answer that does not decode (nested
// too deep, say) fails its call at once with a ProtocolError, as JSON or as
// an event: go-sdk would end the whole connection for it.
func (t *headerRoundTripper) capBody(req *http.Request, resp *http.Response) *http.Response {
	if t.maxBytes <= 0 || resp.Body == nil || resp.Body == http.NoBody {
		return resp
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		// go-sdk reads error bodies whole to find a JSON-RPC error.
		resp.Body = readCloser{io.LimitReader(resp.Body, t.maxBytes), resp.Body}
	case mt == "text/event-stream":
		resp.Body = newSSECap(resp.Body, t.maxBytes, req.Method == http.MethodPost)
	case req.Method == http.MethodPost:
		resp.Body = &jsonCap{body: resp.Body, max: t.maxBytes, req: req, json: mt == "application/json"}
	}
	return resp
}

type readCloser struct {
	io.Reader
	io.Closer
}

// jsonCap is the body of a POST's answer: it reads at most max+1 bytes
// before handing any out, and stands a made-up error answer in for a body
// over max, and for a JSON body that does not decode as a JSON-RPC message
// (nested too deep, say), which go-sdk would fail the whole connection for.
type jsonCap struct {
	body io.ReadCloser
	max  int64
	req  *http.Request
	json bool      // the body is application/json
	r    io.Reader // what Read hands out, once the body has been judged
}

func (j *jsonCap) Read(p []byte) (int, error) {
	if j.r == nil {
		buf, err := io.ReadAll(io.LimitReader(j.body, j.max+1))
		switch {
		case int64(len(buf)) > j.max:
			j.r = j.madeUp(&MessageTooLargeError{Limit: j.max})
		case err != nil:
			j.r = io.MultiReader(bytes.NewReader(buf), errReader{err})
		default:
			j.r = bytes.NewReader(buf)
			if j.json && len(bytes.TrimSpace(buf)) > 0 {
				// go-sdk decodes with the same function, depth limit included.
				if _, derr := jsonrpc.DecodeMessage(buf); derr != nil {
					if r := j.madeUp(&ProtocolError{Msg: "the target's answer could not be decoded", Err: derr}); r != nil {
						j.r = r
					}
				}
			}
		}
	}
	return j.r.Read(p)
}

func (j *jsonCap) Close() error { return j.body.Close() }

// madeUp returns the made-up answer standing for failure to the request j
// answers. When that request carries no id it returns a reader that fails
// with a MessageTooLargeError, and nil for any other failure.
func (j *jsonCap) madeUp(failure error) io.Reader {
	if j.req.GetBody != nil {
		if body, err := j.req.GetBody(); err == nil {
			data, _ := io.ReadAll(body)
			if msg, err := jsonrpc.DecodeMessage(data); err == nil {
				if call, ok := msg.(*jsonrpc.Request); ok && call.IsCall() {
					if b, err := jsonrpc.EncodeMessage(madeUp(call.ID, failure)); err == nil {
						return bytes.NewReader(b)
					}
				}
			}
		}
	}
	var tooLarge *MessageTooLargeError
	if errors.As(failure, &tooLarge) {
		return errReader{failure}
	}
	return nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// sseCap passes an SSE stream through, event by event. It drops any event
// whose bytes (every line of it, as go-sdk counts them) exceed max, and any
// message event whose data go-sdk could not decode (nested too deep, say),
// for which go-sdk would end the whole connection. A dropped event whose data
// carries an id is replaced by a made-up error answer for that id. An
// undecodable answer's comes at once: the target answered, and badly. An
// oversized answer's comes at once on a GET stream; on a POST's stream
// (hold) it waits for the real answer, as over stdio: it is handed out after
// grace or at the end of the stream, whichever comes first, unless an event
// with that id passed in the meantime. Memory stays within max per event.
//
// A goroutine (pump) reads the body, so that a held answer falls due while
// the body has nothing to read; it ends with the body, or at Close.
type sseCap struct {
	body  io.ReadCloser
	max   int64
	hold  bool
	grace time.Duration

	events   chan []byte   // from the pump, in order; closed when it ends
	err      error         // the body's error, set by the pump before it closes events
	stop     chan struct{} // closed by Close
	pumped   chan struct{} // closed when the pump has returned
	stopOnce sync.Once
	wake     chan struct{} // the pump held an answer (capacity 1)
	cur      []byte        // Read's: the rest of the chunk it is handing out

	mu   sync.Mutex
	held map[jsonrpc.ID]heldAnswer // guarded by mu: made-up answers waiting for their due time

	// The pump's own.
	br        *bufio.Reader
	out       [][]byte // ready to be sent to events, in order
	ev        [][]byte // the current event's lines, in chunks, while within max (chunks, not one slice, so that growing it copies nothing)
	size      int64    // bytes of the current event so far
	over      bool     // the current event went over max
	head      []byte   // the start of an oversized event's first data
	eventID   []byte   // an oversized event's SSE id line, kept for resumption
	tail      []byte   // the last bytes of an oversized event
	lineStart bool     // the next chunk starts a line
}

// heldAnswer is a made-up answer and when it is handed out.
type heldAnswer struct {
	event []byte
	due   time.Time
}

func newSSECap(body io.ReadCloser, max int64, hold bool) *sseCap {
	s := &sseCap{
		body: body, max: max, hold: hold, grace: defaultHoldGrace,
		events: make(chan []byte), stop: make(chan struct{}), pumped: make(chan struct{}), wake: make(chan struct{}, 1),
		br: bufio.NewReaderSize(body, 64<<10), lineStart: true,
	}
	go s.pump()
	return s
}

// pumpCloseWait bounds how long Close waits for the pump, which closing the
// body unblocks.
const pumpCloseWait = 5 * time.Second

func (s *sseCap) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	err := s.body.Close()
	closedWithin(s.pumped, pumpCloseWait)
	return err
}

func (s *sseCap) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		var (
			due   <-chan time.Time
			timer *time.Timer
		)
		if at, ok := s.nextDue(); ok {
			timer = time.NewTimer(time.Until(at))
			due = timer.C
		}
		var (
			b    []byte
			open = true
		)
		select {
		case b, open = <-s.events:
		case <-due:
			b = s.takeDue(time.Now())
		case <-s.wake:
		}
		if timer != nil {
			timer.Stop()
		}
		if !open {
			if s.err == nil {
				return 0, io.EOF
			}
			return 0, s.err
		}
		s.cur = b
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// nextDue returns the earliest due time of a held answer.
func (s *sseCap) nextDue() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first time.Time
	for _, h := range s.held {
		if first.IsZero() || h.due.Before(first) {
			first = h.due
		}
	}
	return first, !first.IsZero()
}

// takeDue removes and returns the held answers due by now; with a zero now,
// all of them.
func (s *sseCap) takeDue(now time.Time) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b []byte
	for id, h := range s.held {
		if now.IsZero() || !h.due.After(now) {
			b = append(b, h.event...)
			delete(s.held, id)
		}
	}
	return b
}

// pump reads the body and sends what passes to events, until the body ends
// or Close.
func (s *sseCap) pump() {
	defer close(s.pumped)
	defer close(s.events)
	for {
		err := s.step()
		for _, b := range s.out {
			if len(b) == 0 {
				continue
			}
			select {
			case s.events <- b:
			case <-s.stop:
				return
			}
		}
		s.out = s.out[:0]
		if err != nil {
			s.err = err
			return
		}
	}
}

// step reads one chunk of a line and moves finished events to out. It
// returns the body's error; at the end of the body, held answers go to out.
func (s *sseCap) step() error {
	chunk, err := s.br.ReadSlice('\n')
	blank := s.lineStart && len(bytes.TrimRight(chunk, "\r\n")) == 0 && len(chunk) > 0
	s.size += int64(len(chunk))
	switch {
	case s.over:
		s.keepTail(chunk)
	case s.size > s.max:
		s.over = true
		s.head = firstField(s.ev, chunk, "data:")
		if id := firstField(s.ev, chunk, "id:"); id != nil {
			s.eventID = append(append([]byte("id:"), bytes.TrimRight(id, "\r\n")...), '\n')
		}
		for _, c := range s.ev[max(0, len(s.ev)-2):] {
			s.keepTail(c)
		}
		s.keepTail(chunk)
		s.ev = nil
	default:
		s.ev = append(s.ev, bytes.Clone(chunk))
	}
	s.lineStart = len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil
	case err != nil:
		s.endEvent()
		s.out = append(s.out, s.takeDue(time.Time{}))
		return err
	}
	if blank {
		s.endEvent()
	}
	return nil
}

// endEvent hands out the current event, or what stands for it when it was
// dropped, and starts the next.
func (s *sseCap) endEvent() {
	switch {
	case s.over:
		id, ok := frameID(s.head, bytes.TrimSpace(s.tail))
		var answer []byte
		if ok {
			answer = madeUpEvent(id, &MessageTooLargeError{Limit: s.max, Size: s.size})
		}
		if answer != nil && s.hold {
			s.mu.Lock()
			if s.held == nil {
				s.held = map[jsonrpc.ID]heldAnswer{}
			}
			s.held[id] = heldAnswer{event: answer, due: time.Now().Add(s.grace)}
			s.mu.Unlock()
			select {
			case s.wake <- struct{}{}:
			default:
			}
			answer = nil
		}
		// The SSE id goes on, so that a resumed stream starts after it.
		switch {
		case answer != nil:
			s.out = append(s.out, s.eventID, answer)
		case s.eventID != nil:
			s.out = append(s.out, s.eventID, []byte("\n"))
		}
	default:
		data, isMessage := eventData(s.ev)
		if !isMessage || len(data) == 0 {
			break
		}
		// go-sdk decodes with the same function, depth limit included.
		msg, derr := jsonrpc.DecodeMessage(data)
		if derr == nil {
			if resp, ok := msg.(*jsonrpc.Response); ok {
				s.mu.Lock()
				delete(s.held, resp.ID) // the real answer wins
				s.mu.Unlock()
			}
			break
		}
		// An answer (not a request from the target) that cannot be
		// decoded fails its call now.
		id, ok := frameID(data[:min(len(data), peek)], bytes.TrimSpace(data[max(0, len(data)-peek):]))
		if !ok {
			break
		}
		s.mu.Lock()
		delete(s.held, id)
		s.mu.Unlock()
		if answer := madeUpEvent(id, &ProtocolError{Msg: "the target's answer could not be decoded", Err: derr}); answer != nil {
			if sseID := eventField(s.ev, "id"); sseID != nil {
				s.out = append(s.out, append(append([]byte("id: "), sseID...), '\n'))
			}
			s.out = append(s.out, answer)
			s.ev = nil
		}
	}
	if s.ev != nil {
		s.out = append(s.out, s.ev...)
	}
	s.ev, s.size, s.over, s.head, s.tail, s.eventID = nil, 0, false, nil, nil, nil
}

// madeUpEvent returns the SSE message event of the made-up answer to id
// standing for failure, or nil when it cannot be encoded.
func madeUpEvent(id jsonrpc.ID, failure error) []byte {
	b, err := jsonrpc.EncodeMessage(madeUp(id, failure))
	if err != nil {
		return nil
	}
	return append(append([]byte("event: message\ndata: "), b...), "\n\n"...)
}

// eventData returns the data of the event whose line chunks are ev, as
// go-sdk assembles it (data lines trimmed and joined with newlines), and
// whether the event is a message (named "message", or not named). A line may
// span several chunks; a field name is within a line's first.
func eventData(ev [][]byte) (data []byte, isMessage bool) {
	isMessage = true
	seen, start, field := false, true, ""
	for _, c := range ev {
		part := c
		if start {
			name, value, ok := bytes.Cut(c, []byte(":"))
			field, part = "", value
			if ok {
				field = string(name)
			}
			switch field {
			case "event":
				v := string(bytes.TrimSpace(value))
				isMessage = v == "" || v == "message"
			case "data":
				if seen {
					data = append(data, '\n')
				}
				seen = true
				part = bytes.TrimLeft(part, " \t")
			}
		}
		start = len(c) > 0 && c[len(c)-1] == '\n'
		if field == "data" {
			if start {
				part = bytes.TrimRight(part, " \t\r\n")
			}
			data = append(data, part...)
		}
	}
	return data, isMessage
}

// eventField returns the trimmed value of the event's last line with field
// name (a short field, such as id), or nil.
func eventField(ev [][]byte, name string) []byte {
	var v []byte
	start := true
	for _, c := range ev {
		if n, value, ok := bytes.Cut(c, []byte(":")); start && ok && string(n) == name {
			v = bytes.Clone(bytes.TrimSpace(value))
		}
		start = len(c) > 0 && c[len(c)-1] == '\n'
	}
	return v
}

func (s *sseCap) keepTail(b []byte) {
	s.tail = append(s.tail, b[max(0, len(b)-2*peek):]...)
	if len(s.tail) > 2*peek {
		s.tail = append(s.tail[:0:0], s.tail[len(s.tail)-peek:]...)
	}
}

// firstField returns the start of the value of the first line with the
// given field prefix in the event chunks ev, or in chunk, the line being read
// after them.
func firstField(ev [][]byte, chunk []byte, field string) []byte {
	for line := range bytes.Lines(bytes.Join(ev[:min(len(ev), 4)], nil)) {
		if v, ok := bytes.CutPrefix(line, []byte(field)); ok {
			return bytes.Clone(v[:min(len(v), peek)])
		}
	}
	if v, ok := bytes.CutPrefix(chunk, []byte(field)); ok {
		return bytes.Clone(v[:min(len(v), peek)])
	}
	return nil
}
