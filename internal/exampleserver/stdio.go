package exampleserver

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The non-JSON lines written by ModeJunkStdout.
const (
	junkBanner = "Example server v1 starting..."
	junkLine   = "debug: handled a request"
)

func (t *target) serveStdio(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	var w io.Writer = stdout
	if t.mode == ModeJunkStdout {
		if _, err := io.WriteString(stdout, junkBanner+"\n"); err != nil {
			return fmt.Errorf("writing banner: %w", err)
		}
		w = &junkWriter{w: stdout}
	}
	t.stdin = newStopReader(stdin)
	s := t.newServer()
	if err := s.Run(ctx, &mcp.IOTransport{Reader: t.stdin, Writer: nopWriteCloser{w}}); err != nil && ctx.Err() == nil {
		return fmt.Errorf("serving stdio: %w", err)
	}
	return nil
}

// stopReader passes reads through until stop is called; from then on Read
// blocks until Close, without touching the underlying reader, so that the
// client's writes fill the pipe.
type stopReader struct {
	r         io.Reader
	stopped   chan struct{}
	stopOnce  sync.Once
	closed    chan struct{}
	closeOnce sync.Once
}

func newStopReader(r io.Reader) *stopReader {
	return &stopReader{r: r, stopped: make(chan struct{}), closed: make(chan struct{})}
}

// stopChunk bounds one read, so that a read already waiting when stop is
// called takes at most this many bytes of the next message off the pipe and
// the rest stays unread there, as with a server that really stopped.
const stopChunk = 16

func (s *stopReader) Read(p []byte) (int, error) {
	select {
	case <-s.closed:
		return 0, io.EOF
	case <-s.stopped:
		<-s.closed
		return 0, io.EOF
	default:
	}
	n, err := s.r.Read(p[:min(len(p), stopChunk)])
	select {
	case <-s.stopped:
		// Read after stop: the message is never handled.
		<-s.closed
		return 0, io.EOF
	default:
	}
	return n, err
}

func (s *stopReader) stop() { s.stopOnce.Do(func() { close(s.stopped) }) }

// Close unblocks a stopped Read. It leaves the underlying reader open: the
// caller of Run owns it.
func (s *stopReader) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

// junkWriter writes a non-JSON line before every Write. The transport writes
// each message and its newline in one Write, under its own lock.
type junkWriter struct {
	w io.Writer
}

func (j *junkWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(j.w, junkLine+"\n"); err != nil {
		return 0, err
	}
	return j.w.Write(p)
}

// nopWriteCloser leaves stdout open when the transport closes: the caller of
// Run owns it.
type nopWriteCloser struct {
	io.Writer
}

func (nopWriteCloser) Close() error { return nil }

// lockedWriter makes a writer safe for concurrent use.
type lockedWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
