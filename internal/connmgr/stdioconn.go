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

// codeMessageTooLarge is the JSON-RPC error code of the answer the tester
// makes up for a request whose real answer was over the size cap, so that
// the call fails at once with a clear error instead of timing out.
const codeMessageTooLarge = -32099

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

	writeMu sync.Mutex // serialises writes so messages do not interleave
	stalled atomic.Bool
	written atomic.Int64 // bytes written to stdin (see writeBy)
	// captures pairs the ids of RawRequest's requests with their
	// *rawCapture until the answer is read.
	captures sync.Map

	closeOnce sync.Once
	closeFn   func() // ends the process; called once by Close
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
		closed:       make(chan struct{}),
		closeFn:      closeFn,
	}
	go c.readLoop(stdout)
	return c
}

// readLoop reads newline-delimited frames until stdout ends or the
// connection is closed. It owns stdout.
func (c *stdioConn) readLoop(stdout io.Reader) {
	br := bufio.NewReaderSize(stdout, 64<<10)
	for {
		line, over, err := readFrame(br, c.maxBytes)
		var res readResult
		switch {
		case over != nil:
			if resp := over.answer(c.maxBytes); resp != nil {
				res.msgs = []jsonrpc.Message{resp}
			} else {
				c.onJunk(fmt.Sprintf("[dropped a message of %d bytes: over the %d MiB limit]", over.size, c.maxBytes>>20))
			}
		case len(bytes.TrimSpace(line)) > 0:
			msgs, derr := decodeFrame(line)
			if derr != nil {
				c.onJunk(string(line))
			}
			for _, msg := range msgs {
				switch msg := msg.(type) {
				case *jsonrpc.Request:
					if !msg.IsCall() {
						c.onNotify(msg.Method, msg.Params)
					}
				case *jsonrpc.Response:
					if rc, ok := c.captures.LoadAndDelete(msg.ID); ok {
						rc.(*rawCapture).set(msg)
					}
				}
			}
			res.msgs = msgs
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
)

// answer makes up an error response for the request that the oversized
// frame answered, or returns nil when its id cannot be found (go-sdk writes
// the id first, the TypeScript SDK last).
func (o *oversize) answer(limit int64) *jsonrpc.Response {
	var raw []byte
	if m := headID.FindSubmatchIndex(o.head); m != nil {
		if rest := bytes.TrimSpace(o.head[m[1]:]); bytes.HasPrefix(rest, []byte(`,"method"`)) {
			return nil // a request or notification from the target, not an answer
		}
		raw = o.head[m[2]:m[3]]
	} else if m := tailID.FindSubmatch(o.tail); m != nil {
		raw = m[1]
	} else {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	id, err := jsonrpc.MakeID(v)
	if err != nil {
		return nil
	}
	data, _ := json.Marshal(map[string]any{tooLargeMarker: true, "size_bytes": o.size})
	return &jsonrpc.Response{ID: id, Error: &jsonrpc.Error{
		Code:    codeMessageTooLarge,
		Message: fmt.Sprintf("the answer was %d bytes, over the %d byte limit", o.size, limit),
		Data:    data,
	}}
}

// tooLargeMarker marks the error answers the tester makes up, so that a
// target's own use of the code is not mistaken for one.
const tooLargeMarker = "mcp_test_mcp_message_too_large"

// isTooLarge reports whether e is an answer made up for an oversized frame.
func isTooLarge(e *jsonrpc.Error) bool {
	if e.Code != codeMessageTooLarge {
		return false
	}
	var data map[string]any
	return json.Unmarshal(e.Data, &data) == nil && data[tooLargeMarker] == true
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
	if rc, ok := ctx.Value(rawCaptureKey{}).(*rawCapture); ok {
		if req, ok := msg.(*jsonrpc.Request); ok && req.IsCall() {
			c.captures.Store(req.ID, rc)
		}
	}
	data = append(data, '\n')
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	select {
	case <-c.closed:
		return mcp.ErrConnectionClosed
	default:
	}
	// The write ends at the request's deadline too. Cut short before its
	// first byte, the stream is intact and only the request fails.
	n, byCtx, err := writeBy(ctx, c.stdin, data, c.writeTimeout, &c.written)
	if err != nil {
		if byCtx && n == 0 {
			return ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.stalled.Store(true)
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
		c.closeFn()
	})
	return nil
}

// SessionID implements mcp.Connection.
func (c *stdioConn) SessionID() string { return "" }

// stdioTransport hands a started stdioConn to go-sdk.
type stdioTransport struct{ conn *stdioConn }

func (t *stdioTransport) Connect(context.Context) (mcp.Connection, error) { return t.conn, nil }
