package connmgr

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// capBody bounds what one message in resp's body may cost: the decoded bytes
// count (Go's transport gunzips a body it asked to be compressed, so a 1 MB
// body can be 400 MB of JSON). A JSON answer over the cap is replaced by a
// made-up error answer for the request it answers, which fails that call
// with a MessageTooLargeError; so is an SSE event over the cap that carries
// an id. On a POST's event stream, which ends with the call's answer, the
// made-up answer waits for the end of the stream, so that a real answer with
// the same id after the oversized one wins (as over stdio); on a GET stream,
// which has no such end, it is handed out at once.
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
		resp.Body = &jsonCap{body: resp.Body, max: t.maxBytes, req: req}
	}
	return resp
}

type readCloser struct {
	io.Reader
	io.Closer
}

// jsonCap is the body of a POST's JSON answer: it reads at most max+1 bytes
// before handing any out, and stands a made-up error answer in for a body
// over max.
type jsonCap struct {
	body io.ReadCloser
	max  int64
	req  *http.Request
	r    io.Reader // what Read hands out, once the body has been judged
}

func (j *jsonCap) Read(p []byte) (int, error) {
	if j.r == nil {
		buf, err := io.ReadAll(io.LimitReader(j.body, j.max+1))
		switch {
		case int64(len(buf)) > j.max:
			j.r = j.tooLarge()
		case err != nil:
			j.r = io.MultiReader(bytes.NewReader(buf), errReader{err})
		default:
			j.r = bytes.NewReader(buf)
		}
	}
	return j.r.Read(p)
}

func (j *jsonCap) Close() error { return j.body.Close() }

// tooLarge returns the made-up answer to the request j answers, or a
// reader that fails with the MessageTooLargeError when that request carries
// no id.
func (j *jsonCap) tooLarge() io.Reader {
	failure := &MessageTooLargeError{Limit: j.max}
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
	return errReader{failure}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// sseCap passes an SSE stream through, event by event, dropping any event
// whose bytes (every line of it, as go-sdk counts them) exceed max. A dropped
// event whose data carries an id is replaced by a made-up error answer for
// that id: at once, or, when hold is set, at the end of the stream unless an
// event with that id passed in the meantime. Memory stays within max per
// event.
type sseCap struct {
	body io.ReadCloser
	br   *bufio.Reader
	max  int64
	hold bool
	out  [][]byte              // ready to be read, in order
	err  error                 // the body's error, returned once out is empty
	held map[jsonrpc.ID][]byte // made-up answers waiting for the end of the stream

	ev        [][]byte // the current event's lines, in chunks, while within max (chunks, not one slice, so that growing it copies nothing)
	size      int64    // bytes of the current event so far
	over      bool     // the current event went over max
	head      []byte   // the start of an oversized event's first data
	eventID   []byte   // an oversized event's SSE id line, kept for resumption
	tail      []byte   // the last bytes of an oversized event
	lineStart bool     // the next chunk starts a line
}

func newSSECap(body io.ReadCloser, max int64, hold bool) *sseCap {
	return &sseCap{body: body, br: bufio.NewReaderSize(body, 64<<10), max: max, hold: hold, lineStart: true}
}

func (s *sseCap) Close() error { return s.body.Close() }

func (s *sseCap) Read(p []byte) (int, error) {
	for len(s.out) == 0 && s.err == nil {
		s.step()
	}
	if len(s.out) > 0 {
		n := copy(p, s.out[0])
		if s.out[0] = s.out[0][n:]; len(s.out[0]) == 0 {
			s.out[0] = nil
			s.out = s.out[1:]
		}
		return n, nil
	}
	return 0, s.err
}

// step reads one chunk of a line and moves finished events to out.
func (s *sseCap) step() {
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
		return
	case err != nil:
		s.endEvent()
		for _, b := range s.held {
			s.out = append(s.out, b)
		}
		s.held = nil
		s.err = err
		return
	}
	if blank {
		s.endEvent()
	}
}

// endEvent hands out the current event, or what stands for it when it was
// over max, and starts the next.
func (s *sseCap) endEvent() {
	switch {
	case s.over:
		// The SSE id goes on, so that a resumed stream starts after it.
		id, ok := frameID(s.head, bytes.TrimSpace(s.tail))
		var answer []byte
		if ok {
			if b, err := jsonrpc.EncodeMessage(madeUp(id, &MessageTooLargeError{Limit: s.max, Size: s.size})); err == nil {
				answer = append(append([]byte("event: message\ndata: "), b...), "\n\n"...)
			}
		}
		switch {
		case answer != nil && s.hold:
			if s.held == nil {
				s.held = map[jsonrpc.ID][]byte{}
			}
			s.held[id] = answer
			if s.eventID != nil {
				s.out = append(s.out, s.eventID, []byte("\n"))
			}
		case answer != nil:
			s.out = append(s.out, s.eventID, answer)
		case s.eventID != nil:
			s.out = append(s.out, s.eventID, []byte("\n"))
		}
	default:
		if len(s.held) > 0 {
			var tail []byte
			for _, c := range s.ev[max(0, len(s.ev)-2):] {
				tail = append(tail, c...)
			}
			if id, ok := frameID(firstField(s.ev, nil, "data:"), bytes.TrimSpace(tail)); ok {
				delete(s.held, id) // the real answer wins
			}
		}
		s.out = append(s.out, s.ev...)
	}
	s.ev, s.size, s.over, s.head, s.tail, s.eventID = nil, 0, false, nil, nil, nil
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
