package connmgr

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/sys/unix"
)

// errWriteStalled marks a write that hit its deadline.
var errWriteStalled = errors.New("the target stopped reading its stdin")

// stdioConn is an mcp.Connection over a child's stdin and stdout. Unlike
// go-sdk's ioConn it survives lines that are not JSON-RPC (a stray print or
// log line is reported, not fatal), caps the size of one message with a
// clear error, and puts a deadline on every write.
type stdioConn struct {
	stdin    *os.File
	maxBytes int64
	// writeTimeout bounds one write: a target that stops reading fills the
	// pipe (64 KiB), and without a deadline our writes, and with them
	// Close, would block forever.
	writeTimeout time.Duration
	onJunk       func(line string) // called from the read goroutine
	// onNotify sees every notification in read order, before the messages
	// after it are delivered. Called from the read goroutine.
	onNotify func(method string, params json.RawMessage)

	incoming chan readResult // from the read goroutine
	closed   chan struct{}
	queue    []jsonrpc.Message // rest of a batch; Read is never concurrent

	// writeSlot holds a token while one write is under way, so that
	// messages do not interleave. A channel, not a mutex: a writer waiting
	// for a stuck write gives up at its own deadline or when the connection
	// closes.
	writeSlot chan struct{}
	stalled   atomic.Bool
	written   atomic.Int64 // bytes written to stdin (see writeBy)
	// readWait is when the read of stdout under way began, in Unix
	// nanoseconds, or 0 while the read goroutine is busy with what it read
	// (see idleFor).
	readWait atomic.Int64
	// captures pairs the ids of RawRequest's requests with their
	// *rawCapture until the answer is read.
	captures sync.Map
	// inFlight holds the ids of our requests not answered yet.
	inFlight sync.Map
	// holdGrace is how long a made-up answer for an undeliverable message
	// waits for the real answer (see hold).
	holdGrace time.Duration

	heldMu sync.Mutex
	held   map[jsonrpc.ID]*time.Timer // guarded by heldMu: made-up answers waiting (see hold)

	closeOnce sync.Once
	closeFn   func()        // ends the process; called once by Close
	readDone  chan struct{} // closed when readLoop returns
}

type readResult struct {
	msgs []jsonrpc.Message
	err  error
}

func newStdioConn(stdin *os.File, stdout io.Reader, maxBytes int64, onJunk func(string), onNotify func(string, json.RawMessage), closeFn func()) *stdioConn {
	c := &stdioConn{
		stdin:        stdin,
		maxBytes:     maxBytes,
		writeTimeout: DefaultWriteTimeout,
		onJunk:       onJunk,
		onNotify:     onNotify,
		incoming:     make(chan readResult),
		writeSlot:    make(chan struct{}, 1),
		closed:       make(chan struct{}),
		holdGrace:    defaultHoldGrace,
		held:         map[jsonrpc.ID]*time.Timer{},
		closeFn:      closeFn,
		readDone:     make(chan struct{}),
	}
	go c.readLoop(stdout) // Close waits for it
	return c
}

// readLoop reads newline-delimited frames until stdout ends or the
// connection is closed. It owns stdout.
//
// A frame that carries the id of a request in flight but cannot be delivered
// is recorded as a stdout event. One that cannot be decoded (nested too
// deep, say) fails the request at once with a protocol error: the target
// answered, and badly. One over the size cap fails nothing by itself: the
// request gets the next real answer with its id, and only when none comes
// within holdGrace does it fail with an error naming the limit (see hold).
func (c *stdioConn) readLoop(stdout io.Reader) {
	defer close(c.readDone)
	br := bufio.NewReaderSize(&waitReader{r: stdout, since: &c.readWait}, 64<<10)
	for {
		line, over, err := readFrame(br, c.maxBytes)
		var res readResult
		switch {
		case over != nil:
			c.undeliverable(over.head, over.tail, over.size, fmt.Sprintf("over the %s limit (MCP_TEST_MAX_MESSAGE_BYTES)", byteSize(c.maxBytes)), &MessageTooLargeError{Limit: c.maxBytes, Size: over.size})
		case len(bytes.TrimSpace(line)) > 0:
			msgs, derr := decodeFrame(line)
			if derr != nil {
				head, tail := line[:min(len(line), peek)], line[max(0, len(line)-peek):]
				if answer := c.undeliverable(head, tail, int64(len(line)), "not decodable: "+derr.Error(), &ProtocolError{Msg: "the target's answer could not be decoded", Err: derr}); answer != nil {
					res.msgs = append(res.msgs, answer)
				} else {
					c.onJunk(string(line))
				}
			}
			for _, msg := range msgs {
				switch msg := msg.(type) {
				case *jsonrpc.Request:
					if !msg.IsCall() {
						c.onNotify(msg.Method, msg.Params)
						if recordedOnly(msg) {
							continue
						}
					}
				case *jsonrpc.Response:
					c.answered(msg.ID)
					if rc, ok := c.captures.LoadAndDelete(msg.ID); ok {
						rc.(*rawCapture).set(msg)
					}
				}
				res.msgs = append(res.msgs, msg)
			}
		}
		if len(res.msgs) > 0 {
			if !c.deliver(res) {
				return
			}
		}
		if err != nil {
			c.deliver(readResult{err: err})
			return
		}
	}
}

// waitReader records in since when a Read of r began, while it waits for
// bytes; since is 0 once it returned.
type waitReader struct {
	r     io.Reader
	since *atomic.Int64
}

func (w *waitReader) Read(p []byte) (int, error) {
	w.since.Store(time.Now().UnixNano())
	n, err := w.r.Read(p)
	w.since.Store(0)
	return n, err
}

// idleFor is how long the read goroutine has been waiting for the target's
// stdout to say something: 0 while it reads, decodes or delivers a message.
func (c *stdioConn) idleFor() time.Duration {
	if at := c.readWait.Load(); at != 0 {
		return time.Since(time.Unix(0, at))
	}
	return 0
}

// recordedOnly reports whether a notification is only recorded, not handed
// to go-sdk: a stdio target's progress and log messages are taken in read
// order by onNotify, and go-sdk has no use for them, so big ones are not
// decoded a second time.
func recordedOnly(msg *jsonrpc.Request) bool {
	return len(msg.Params) > MaxLogData &&
		(msg.Method == "notifications/message" || msg.Method == "notifications/progress")
}

// defaultHoldGrace is how long a request whose answer was over the size cap
// waits for a real one before it fails, over stdio and on an HTTP event
// stream alike.
const defaultHoldGrace = time.Second

// undeliverable records a frame that could not be delivered, of size bytes
// and with the given ends, as a stdout event. When it carries the id of a
// request in flight, failure becomes that request's answer: a
// *MessageTooLargeError is held (see hold); any other failure is returned,
// as the made-up answer to deliver now. It returns nil otherwise.
func (c *stdioConn) undeliverable(head, tail []byte, size int64, why string, failure error) *jsonrpc.Response {
	id, ok := frameID(head, tail)
	if !ok {
		c.onJunk(fmt.Sprintf("[dropped a message of %d bytes: %s]", size, why))
		return nil
	}
	if _, inFlight := c.inFlight.Load(id); !inFlight {
		c.onJunk(fmt.Sprintf("[dropped a message of %d bytes with id %v, which is no request in flight: %s]", size, id.Raw(), why))
		return nil
	}
	var tooLarge *MessageTooLargeError
	if !errors.As(failure, &tooLarge) {
		c.onJunk(fmt.Sprintf("[dropped a message of %d bytes with the id %v of a request in flight: %s; the request fails]", size, id.Raw(), why))
		c.answered(id)
		c.captures.Delete(id)
		return madeUp(id, failure)
	}
	c.onJunk(fmt.Sprintf("[dropped a message of %d bytes with the id %v of a request in flight: %s; the request waits %s for another answer]", size, id.Raw(), why, c.holdGrace))
	c.hold(id, failure)
	return nil
}

// hold fails the request id with failure after holdGrace, unless a real
// answer with that id is read first (answered). The rule is that the real
// answer wins: a hostile or confused target may send junk with an id in
// flight, then the answer.
func (c *stdioConn) hold(id jsonrpc.ID, failure error) {
	resp := madeUp(id, failure)
	c.heldMu.Lock()
	defer c.heldMu.Unlock()
	if t, ok := c.held[id]; ok {
		t.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(c.holdGrace, func() {
		c.heldMu.Lock()
		mine := c.held[id] == t
		if mine {
			delete(c.held, id)
		}
		c.heldMu.Unlock()
		if mine {
			c.inFlight.Delete(id)
			c.captures.Delete(id)
			c.deliver(readResult{msgs: []jsonrpc.Message{resp}})
		}
	})
	c.held[id] = t
}

// answered notes that id got its answer: a made-up answer held for it is
// dropped.
func (c *stdioConn) answered(id jsonrpc.ID) {
	c.inFlight.Delete(id)
	c.heldMu.Lock()
	defer c.heldMu.Unlock()
	if t, ok := c.held[id]; ok {
		t.Stop()
		delete(c.held, id)
	}
}

func (c *stdioConn) deliver(r readResult) bool {
	select {
	case c.incoming <- r:
		return true
	case <-c.closed:
		return false
	}
}

// oversize describes a frame that went over the cap: its size and enough of
// its start and end to find the id of the request it answers.
type oversize struct {
	size       int64
	head, tail []byte
}

const peek = 256

var (
	headID = regexp.MustCompile(`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")`)
	tailID = regexp.MustCompile(`"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")\s*(?:,\s*"jsonrpc"\s*:\s*"2\.0"\s*)?\}\s*$`)
	// requestHead matches a frame whose top-level keys start with
	// "method", after "jsonrpc" and "id" only: a request or notification
	// from the target, in go-sdk's, the TypeScript SDK's or Python's order
	// and spacing.
	requestHead = regexp.MustCompile(`^\s*\{\s*(?:"(?:jsonrpc|id)"\s*:\s*(?:-?\d+|"(?:[^"\\]|\\.)*")\s*,\s*)*"method"\s*:`)
)

// frameID finds the id of the answer a frame carries from its first and
// last bytes (go-sdk writes the id first, the TypeScript SDK last). It
// reports false for a frame whose id cannot be found, and for a request or
// notification from the target.
func frameID(head, tail []byte) (jsonrpc.ID, bool) {
	if requestHead.Match(head) {
		return jsonrpc.ID{}, false
	}
	var raw []byte
	if m := headID.FindSubmatch(head); m != nil {
		raw = m[1]
	} else if m := tailID.FindSubmatch(tail); m != nil {
		raw = m[1]
	} else {
		return jsonrpc.ID{}, false
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return jsonrpc.ID{}, false
	}
	id, err := jsonrpc.MakeID(v)
	return id, err == nil
}

// madeUp returns the error answer to request id that stands for failure, a
// *MessageTooLargeError or a *ProtocolError; madeUpError turns it back.
func madeUp(id jsonrpc.ID, failure error) *jsonrpc.Response {
	code, marker := codeUndecodable, undecodableMarker
	data := map[string]any{}
	var tooLarge *MessageTooLargeError
	if errors.As(failure, &tooLarge) {
		code, marker = codeMessageTooLarge, tooLargeMarker
		data["size_bytes"] = tooLarge.Size
	}
	data[marker] = madeUpNonce
	raw, _ := json.Marshal(data)
	return &jsonrpc.Response{ID: id, Error: &jsonrpc.Error{Code: int64(code), Message: failure.Error(), Data: raw}}
}

// readFrame reads one line. A line longer than max is not kept: its size and
// ends are returned in over instead, so memory stays bounded.
func readFrame(br *bufio.Reader, max int64) (line []byte, over *oversize, err error) {
	var size int64
	for {
		chunk, rerr := br.ReadSlice('\n')
		size += int64(len(chunk))
		if over == nil && size > max+1 { // +1: the newline is not content
			head := make([]byte, 0, peek)
			head = append(head, line[:min(len(line), peek)]...)
			head = append(head, chunk[:min(len(chunk), peek-len(head))]...)
			over = &oversize{head: head}
			line = nil
		}
		if over != nil {
			over.tail = append(over.tail, chunk...)
			if len(over.tail) > peek {
				over.tail = append(over.tail[:0:0], over.tail[len(over.tail)-peek:]...)
			}
		} else {
			line = append(line, chunk...)
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, bufio.ErrBufferFull):
			continue
		default:
			err = rerr
		}
		break
	}
	if over != nil {
		over.size = size
		return nil, over, err
	}
	return bytes.TrimRight(line, "\r\n"), nil, err
}

// decodeFrame decodes one JSON-RPC message or batch.
func decodeFrame(line []byte) ([]jsonrpc.Message, error) {
	line = bytes.TrimSpace(line)
	switch line[0] {
	case '{':
		msg, err := jsonrpc.DecodeMessage(line)
		if err != nil {
			return nil, err
		}
		return []jsonrpc.Message{msg}, nil
	case '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(line, &raws); err != nil {
			return nil, err
		}
		if len(raws) == 0 {
			return nil, errors.New("empty batch")
		}
		msgs := make([]jsonrpc.Message, 0, len(raws))
		for _, r := range raws {
			msg, err := jsonrpc.DecodeMessage(r)
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, msg)
		}
		return msgs, nil
	}
	return nil, errors.New("not JSON")
}

// Read implements mcp.Connection.
func (c *stdioConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	if len(c.queue) > 0 {
		msg := c.queue[0]
		c.queue = c.queue[1:]
		return msg, nil
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-c.incoming:
		if r.err != nil {
			return nil, r.err
		}
		c.queue = r.msgs[1:]
		return r.msgs[0], nil
	case <-c.closed:
		return nil, io.EOF
	}
}

// Write implements mcp.Connection. It gives up when the write deadline (or
// ctx's, if sooner) passes, and then closes the connection: half a message
// may have been written, so the stream is no longer usable.
func (c *stdioConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return fmt.Errorf("encoding message: %w", err)
	}
	if req, ok := msg.(*jsonrpc.Request); ok && req.Method == "notifications/cancelled" {
		// A cancelled request is no longer waited for.
		var p mcp.CancelledParams
		if json.Unmarshal(req.Params, &p) == nil {
			if id, err := jsonrpc.MakeID(p.RequestID); err == nil {
				c.answered(id)
			}
		}
	}
	data = append(data, '\n')
	select {
	case c.writeSlot <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err() // the stream is intact: nothing was written
	case <-c.closed:
		return mcp.ErrConnectionClosed
	}
	defer func() { <-c.writeSlot }()
	select {
	case <-c.closed:
		return mcp.ErrConnectionClosed
	default:
	}
	if req, ok := msg.(*jsonrpc.Request); ok && req.IsCall() {
		c.inFlight.Store(req.ID, struct{}{})
		if rc, ok := ctx.Value(rawCaptureKey{}).(*rawCapture); ok {
			c.captures.Store(req.ID, rc)
		}
	}
	// The write ends at the request's deadline too. Cut short before its
	// first byte, the stream is intact and only the request fails.
	// A write stuck in a full pipe ends when the connection closes, too.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.closed:
			cancel()
		case <-wctx.Done():
		}
	}()
	n, byCtx, err := writeBy(wctx, c.stdin, data, c.writeTimeout, &c.written)
	if err != nil {
		select {
		case <-c.closed:
			return mcp.ErrConnectionClosed
		default:
		}
		if byCtx && n == 0 {
			if req, ok := msg.(*jsonrpc.Request); ok && req.IsCall() {
				c.answered(req.ID)
				c.captures.Delete(req.ID)
			}
			return ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.stalled.Store(true)
			// Not waited for here (the close takes the terminate timeout);
			// whoever finishes the connection waits in the same Close.
			go c.Close()
			return errWriteStalled
		}
		return err
	}
	return nil
}

// unread returns how many bytes we wrote that the target has not read yet.
func (c *stdioConn) unread() int {
	raw, err := c.stdin.SyscallConn() // not Fd: that would make the pipe blocking
	if err != nil {
		return 0
	}
	n := 0
	_ = raw.Control(func(fd uintptr) {
		n, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ)
	})
	return n
}

// Close implements mcp.Connection. It ends the target process.
func (c *stdioConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.heldMu.Lock()
		for id, t := range c.held {
			t.Stop()
			delete(c.held, id)
		}
		c.heldMu.Unlock()
		c.closeFn()
		closedWithin(c.readDone, readLoopWait) // closeFn closed stdout, which ends readLoop
	})
	return nil
}

// readLoopWait bounds how long Close waits for readLoop, which ends when
// stdout is closed (or at once, in a delivery, when the connection is).
const readLoopWait = time.Second

// SessionID implements mcp.Connection.
func (c *stdioConn) SessionID() string { return "" }

// stdioTransport hands a started stdioConn to go-sdk.
type stdioTransport struct{ conn *stdioConn }

func (t *stdioTransport) Connect(context.Context) (mcp.Connection, error) { return t.conn, nil }
