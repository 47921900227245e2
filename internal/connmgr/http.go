package connmgr

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// httpSnippet is how much of an error response's body is kept.
const httpSnippet = 300

// headerRoundTripper adds the connection's headers to requests for the
// target's origin only (a redirect to another origin must not carry a
// token), and remembers the last failure so a failed connect can say what
// the server really answered.
type headerRoundTripper struct {
	base    http.RoundTripper
	origin  string // scheme://host:port of the target
	headers http.Header
	secrets *redact.Secrets
	sse     bool // legacy SSE: the GET stream carries our answers
	// maxBytes caps the decoded bytes of one message (see capBody); zero
	// means no cap.
	maxBytes int64

	mu      sync.Mutex
	lastErr *HTTPError // guarded by mu
	seq     int        // guarded by mu; counts noted failures
}

func newHeaderRoundTripper(base http.RoundTripper, target string, headers http.Header, secrets *redact.Secrets) (*headerRoundTripper, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	return &headerRoundTripper{base: base, origin: origin(u), headers: headers, secrets: secrets}, nil
}

// maxRedirects is the most redirects followed, as http.Client's default.
const maxRedirects = 10

// checkRedirect is the target's http.Client.CheckRedirect. http.Client sets
// Referer to the URL it is redirected from, which may carry a secret query
// value (?token=…), for whatever origin the redirect names: no Referer is
// sent.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	req.Header.Del("Referer")
	return nil
}

func origin(u *url.URL) string {
	host := u.Host
	if u.Port() == "" {
		switch u.Scheme {
		case "http":
			host += ":80"
		case "https":
			host += ":443"
		}
	}
	return strings.ToLower(u.Scheme + "://" + host)
}

func (t *headerRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(t.headers) > 0 && origin(req.URL) == t.origin {
		req = req.Clone(req.Context())
		for name, vals := range t.headers {
			req.Header[name] = vals
		}
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		if req.Context().Err() == nil && (req.Method == http.MethodPost || t.sse) {
			t.note(&HTTPError{Err: err, Reason: describeDialError(err)})
		}
		return nil, err
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	// Only requests that carry our messages count: a streamable server may
	// refuse the optional GET stream (405), and DELETE on close may fail.
	carries := req.Method == http.MethodPost || t.sse && req.Method == http.MethodGet
	switch {
	case resp.StatusCode >= 400 && carries:
		e := &HTTPError{StatusCode: resp.StatusCode, ContentType: ct, WWWAuthenticate: textcut.CutNote(t.secrets.ScrubEscaped(resp.Header.Get("WWW-Authenticate")), maxHeaderValue)}
		e.BodySnippet = t.peek(resp)
		if probeAnswer(req, resp, e.BodySnippet) { // probe.go
			return resp, nil
		}
		t.note(e)
	case req.Method == http.MethodPost && resp.StatusCode == http.StatusOK &&
		mt != "application/json" && mt != "text/event-stream":
		e := &HTTPError{StatusCode: resp.StatusCode, ContentType: ct, Reason: "the answer is not MCP (expected application/json or text/event-stream)"}
		e.BodySnippet = t.peek(resp)
		t.note(e)
	}
	return t.capBody(req, resp), nil
}

// peek reads the start of resp's body for a report and puts it back. It
// masks secrets before cutting, so that no prefix of one survives.
func (t *headerRoundTripper) peek(resp *http.Response) string {
	buf := make([]byte, 4*httpSnippet)
	n, _ := io.ReadFull(resp.Body, buf)
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf[:n]), resp.Body), resp.Body}
	// The body may echo a secret JSON-escaped (\u0074ok), or across the
	// whitespace that is folded here: mask before folding and after.
	s := t.secrets.ScrubEscaped(string(buf[:n]))
	s = t.secrets.ScrubEscaped(strings.Join(strings.Fields(s), " "))
	if len(s) > httpSnippet {
		s = strings.ToValidUTF8(s[:httpSnippet], "") + "…"
	}
	return s
}

func (t *headerRoundTripper) note(e *HTTPError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastErr = e
	t.seq++
}

// failures returns how many failures have been noted, to pass to
// failureSince later.
func (t *headerRoundTripper) failures() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seq
}

// failureSince returns the last failure if one was noted after the
// failures() count n, or nil.
func (t *headerRoundTripper) failureSince(n int) *HTTPError {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seq > n {
		return t.lastErr
	}
	return nil
}

// failure returns the last HTTP failure seen, or nil.
func (t *headerRoundTripper) failure() *HTTPError {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastErr
}

// describeDialError says in plain words why a request did not get an answer.
func describeDialError(err error) string {
	var (
		unknownAuth x509.UnknownAuthorityError
		hostname    x509.HostnameError
		invalid     x509.CertificateInvalidError
		recordErr   tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: nothing is listening at that address (is the server running, and on that port?)"
	case errors.As(err, &unknownAuth), errors.As(err, &hostname), errors.As(err, &invalid):
		return "TLS certificate problem: " + err.Error()
	case errors.As(err, &recordErr):
		return "TLS handshake failed: the server does not speak TLS there (try http:// instead of https://)"
	case strings.Contains(err.Error(), "no such host"):
		return "the host name does not resolve"
	}
	return err.Error()
}
