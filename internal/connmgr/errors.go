package connmgr

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// ErrNotConnected is returned by operations that need a connection when
// there is none.
var ErrNotConnected = errors.New("not connected to an MCP server")

// ErrInvalidSpec wraps every problem with a Spec found before anything is
// started (no target, both URL and command, an unknown transport...).
var ErrInvalidSpec = errors.New("invalid connection spec")

// ErrInvalidRequest wraps a raw request the tester could not send as
// asked (params that do not encode or do not fit the method); nothing was
// sent.
var ErrInvalidRequest = errors.New("invalid request")

// ErrClosed is returned by Connect and Reconnect on a Manager that was
// closed: the tester is shutting down, and starts no target.
var ErrClosed = errors.New("the tester is shutting down")

// SpawnError reports a stdio target that could not be started at all.
type SpawnError struct {
	// Command is the program that was looked up or run.
	Command string
	// Hint says what to do instead, when the mistake is recognisable (a
	// command line given as one string, a script that is not executable).
	Hint string
	Err  error
}

func (e *SpawnError) Error() string {
	return fmt.Sprintf("starting %q: %v", e.Command, e.Err)
}

func (e *SpawnError) Unwrap() error { return e.Err }

// ExitError reports a stdio target whose process ended while we needed it:
// before initialize finished, or during a request.
type ExitError struct {
	Exit ExitInfo
	// During names what was in progress ("initialize", "tools/call").
	During string
}

func (e *ExitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the target process %s during %s", describeExit(e.Exit), e.During)
	if tail := lastLine(e.Exit.StderrTail); tail != "" {
		fmt.Fprintf(&b, "; its last stderr line: %s", tail)
	}
	return b.String()
}

// LostError reports a connection that closed under a request for a reason
// other than a process exit (an HTTP stream that ended, a target that stopped
// reading its stdin).
type LostError struct {
	Reason string
	Err    error
}

func (e *LostError) Error() string { return "connection lost: " + e.Reason }

func (e *LostError) Unwrap() error { return e.Err }

// HTTPError reports an HTTP target that could not be reached, answered with
// an error status, or answered with something that is not MCP.
type HTTPError struct {
	// StatusCode is the HTTP status, or 0 when no answer came.
	StatusCode int
	// Reason says in plain words what went wrong, when known.
	Reason string
	// WWWAuthenticate is the WWW-Authenticate header of a 401/403.
	WWWAuthenticate string
	// ContentType is the response's Content-Type.
	ContentType string
	// BodySnippet is the start of the response body (redacted).
	BodySnippet string
	Err         error
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "the server answered HTTP %d", e.StatusCode)
		if e.Reason != "" {
			fmt.Fprintf(&b, ": %s", e.Reason)
		}
	} else {
		b.WriteString("could not reach the server")
		if e.Reason != "" {
			fmt.Fprintf(&b, ": %s", e.Reason)
		}
	}
	if e.WWWAuthenticate != "" {
		fmt.Fprintf(&b, " (WWW-Authenticate: %s)", e.WWWAuthenticate)
	}
	if e.ContentType != "" {
		fmt.Fprintf(&b, " (Content-Type %q)", e.ContentType)
	}
	if e.BodySnippet != "" {
		fmt.Fprintf(&b, "; body: %s", e.BodySnippet)
	}
	return b.String()
}

func (e *HTTPError) Unwrap() error { return e.Err }

// TimeoutError reports a request that did not finish within its deadline.
type TimeoutError struct {
	Method string
	// After is the request's deadline.
	After time.Duration
	// Waited is how long the request really waited; it is shorter than
	// After when the connection was closed first (Lost). Zero when unknown.
	Waited time.Duration
	// Cancelled is true when notifications/cancelled was sent to the target.
	Cancelled bool
	// Lost is true when the connection had to be closed because the target
	// stopped reading our messages.
	Lost bool
	// StderrTail is the end of a stdio target's stderr, which often says
	// why it hangs (redacted).
	StderrTail string
}

func (e *TimeoutError) Error() string {
	if e.Lost && e.Waited > 0 && e.Waited < e.After-timeoutSlack {
		// The connection was closed before the deadline: a write waited
		// for the target to read, in vain.
		return fmt.Sprintf("%s was given up after %s, before its %s deadline: the target stopped reading our messages, so the connection was closed",
			e.Method, e.Waited.Round(10*time.Millisecond), e.After)
	}
	s := fmt.Sprintf("%s did not answer within %s", e.Method, e.After)
	if e.Lost {
		s += "; the target stopped reading our messages, so the connection was closed"
	}
	return s
}

// timeoutSlack is how much sooner than its deadline a request may end and
// still be said to have reached it (timers and scheduling).
const timeoutSlack = 100 * time.Millisecond

// ToolNotFoundError reports a tools/call for a name the target does not list.
type ToolNotFoundError struct {
	Name      string
	Available []string
}

func (e *ToolNotFoundError) Error() string {
	return fmt.Sprintf("the target has no tool named %q", e.Name)
}

// MessageTooLargeError reports a message from the target over the size cap.
type MessageTooLargeError struct {
	Limit int64
	// Size is the message's size in bytes (decoded bytes over HTTP), or
	// the bytes read before giving up; zero when unknown.
	Size int64
}

func (e *MessageTooLargeError) Error() string {
	if e.Size > 0 {
		return fmt.Sprintf("the target sent a message of %d bytes, over the %s limit (MCP_TEST_MAX_MESSAGE_BYTES)", e.Size, byteSize(e.Limit))
	}
	return fmt.Sprintf("the target sent a message larger than the %s limit (MCP_TEST_MAX_MESSAGE_BYTES)", byteSize(e.Limit))
}

// byteSize says n in MiB when it is a whole number of them, else in bytes.
func byteSize(n int64) string {
	if n > 0 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d byte", n)
}

// ProtocolError reports a target that broke the protocol: a malformed
// answer, a looping cursor, an unsupported protocol version.
type ProtocolError struct {
	Msg string
	Err error
}

func (e *ProtocolError) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// RPCError is a JSON-RPC error the target answered with (for example -32602
// for invalid arguments).
type RPCError struct {
	Method  string
	Code    int64
	Message string
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("%s: the target answered with error %d: %s", e.Method, e.Code, e.Message)
}

func describeExit(x ExitInfo) string {
	switch {
	case x.Signal != "":
		return "was killed by " + x.Signal
	case x.Code != nil:
		return fmt.Sprintf("exited with status %d", *x.Code)
	default:
		return "closed its stdout"
	}
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// ProbeHTTPError reports an HTTP 4xx answer, without a JSON-RPC error in
// its body, to one of the tester's own probes (see WithProbe): a finding
// about the server, not a lost connection.
type ProbeHTTPError struct {
	// Method is the probe's method.
	Method      string
	StatusCode  int
	ContentType string
	// BodySnippet is the start of the response body (redacted).
	BodySnippet string
}

func (e *ProbeHTTPError) Error() string {
	s := fmt.Sprintf("the server answered HTTP %d (Content-Type %q), not a JSON-RPC message", e.StatusCode, e.ContentType)
	if e.BodySnippet != "" {
		s += "; body: " + e.BodySnippet
	}
	return s
}

// Made-up answers are JSON-RPC error answers the tester stands in for what
// it could not deliver (an answer over the size cap or not decodable, an
// HTTP error to a probe), so that go-sdk fails only that request. Each has
// its own code and a marker in its data whose value is madeUpNonce, which
// no target ever sees, so that a target cannot pass its own error off as
// one; madeUpError turns them into typed errors.
const (
	codeMessageTooLarge = -32099
	codeUndecodable     = -32098
	codeProbeHTTPError  = -32097
	tooLargeMarker      = "mcp_test_mcp_message_too_large"
	undecodableMarker   = "mcp_test_mcp_undecodable"
	probeHTTPMarker     = "mcp_test_mcp_probe_http_error"
)

// madeUpNonce marks the tester's own made-up answers; it is new in every
// process.
var madeUpNonce = uuid.NewString()

// madeUpError returns the error a made-up answer to method stands for, or
// nil when e is the target's own error.
func madeUpError(e *jsonrpc.Error, method string, limit int64) error {
	if e.Code != codeMessageTooLarge && e.Code != codeUndecodable && e.Code != codeProbeHTTPError {
		return nil
	}
	var data struct {
		TooLarge    string `json:"mcp_test_mcp_message_too_large"`
		Undecodable string `json:"mcp_test_mcp_undecodable"`
		ProbeHTTP   string `json:"mcp_test_mcp_probe_http_error"`
		Size        int64  `json:"size_bytes"`
		Status      int    `json:"status_code"`
		ContentType string `json:"content_type"`
		Body        string `json:"body_snippet"`
	}
	switch {
	case json.Unmarshal(e.Data, &data) != nil:
		return nil
	case e.Code == codeMessageTooLarge && data.TooLarge == madeUpNonce:
		return &MessageTooLargeError{Limit: limit, Size: data.Size}
	case e.Code == codeUndecodable && data.Undecodable == madeUpNonce:
		return &ProtocolError{Msg: e.Message}
	case e.Code == codeProbeHTTPError && data.ProbeHTTP == madeUpNonce:
		return &ProbeHTTPError{Method: method, StatusCode: data.Status, ContentType: data.ContentType, BodySnippet: data.Body}
	}
	return nil
}
