package connmgr

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
)

// Transports are the values Spec.Transport may take; empty means auto.
var Transports = []string{TransportAuto, TransportStdio, TransportStreamableHTTP, TransportSSE}

// Validate checks what can be known of s without touching the system:
// exactly one of URL and Command; a known transport that fits the target;
// headers, bearer token and OAuth only for an HTTP URL, args, env and cwd
// only for a stdio target; header and variable names that HTTP and the OS
// accept. It is the one check of a target's description: connect's
// arguments, a check spec's target and Connect itself all use it. Errors
// wrap ErrInvalidSpec and say what was wrong and what to do.
func (s Spec) Validate() error {
	invalid := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidSpec, fmt.Sprintf(format, a...))
	}
	switch {
	case s.URL == "" && s.Command == "":
		return invalid("neither url nor command was given: give url (an http(s) URL or a script path) or command (a program to run over stdio)")
	case s.URL != "" && s.Command != "":
		return invalid("both url and command were given: give url (an http(s) URL or a script path) or command (a program to run over stdio), not both")
	}
	tr := s.transport()
	if !slices.Contains(Transports, tr) {
		return invalid("transport %q is not one of %s", s.Transport, strings.Join(Transports, ", "))
	}
	if s.IsHTTP() {
		if tr == TransportStdio {
			return invalid("transport stdio needs a command or a script path, not the URL %s", redact.URL(s.URL))
		}
		u, err := url.Parse(s.URL)
		if err != nil || u.Host == "" {
			return invalid("url %s does not parse: give a full URL such as http://127.0.0.1:3000/mcp", redact.URL(s.URL))
		}
		if len(s.Env) > 0 || len(s.Args) > 0 || s.Cwd != "" {
			return invalid("args, env and cwd apply only to stdio targets")
		}
		if s.OAuth != nil {
			if why := s.OAuthProblem(); why != "" {
				return invalid("%s", why)
			}
		}
		for name, v := range s.Headers {
			if !validHeaderName(name) {
				return invalid("header name %q is not a valid HTTP header name", name)
			}
			if !validHeaderValue(v) {
				return invalid("the value of header %q has characters not allowed in HTTP (such as a newline)", name)
			}
		}
		if s.BearerToken != "" && !validHeaderValue(s.BearerToken) {
			return invalid("bearer_token has characters not allowed in an HTTP header")
		}
		return nil
	}
	switch {
	case strings.Contains(s.URL, "://"):
		return invalid("url %s is neither http(s) nor a file path", redact.URL(s.URL))
	case tr != TransportAuto && tr != TransportStdio:
		return invalid("transport %s needs an http(s) url", tr)
	case s.OAuth != nil:
		return invalid("%s", s.OAuthProblem())
	case len(s.Headers) > 0 || s.BearerToken != "":
		return invalid("headers and bearer_token apply only to HTTP targets; pass secrets to a stdio target through env")
	}
	for name := range s.Env {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			return invalid("environment variable name %q is not valid", name)
		}
	}
	return nil
}

// Secrets are the secret values of s: header values, the bearer token,
// secret-looking env values, URL parts, and the values of secret-looking
// flags on the command line (--api-key=X, --token X), also in a command
// line given as one string.
func (s Spec) Secrets() []string {
	return append(redact.ConnectionSecrets(s.URL, s.Env, s.Headers, s.BearerToken),
		secretArgValues(append(strings.Fields(s.Command), s.Args...))...)
}

// transport is s.Transport, auto when empty.
func (s Spec) transport() string {
	if s.Transport == "" {
		return TransportAuto
	}
	return s.Transport
}

// OAuthProblem says why OAuth cannot run against s, or returns "" when it
// can: it needs a streamable HTTP URL and no other credentials. Validate
// asks it when s.OAuth is set, and the OAuth flow before it is built; each
// wraps the answer in its own error.
func (s Spec) OAuthProblem() string {
	if !s.IsHTTP() {
		return "OAuth needs an http(s) URL target, not a stdio command"
	}
	u, err := url.Parse(s.URL)
	if err != nil || u.Host == "" {
		return fmt.Sprintf("the target URL %s does not parse", redact.URL(s.URL))
	}
	switch tr := s.transport(); {
	case tr == TransportAuto && httpTransport(u, tr) == TransportSSE:
		return "OAuth needs streamable HTTP, and a URL ending in /sse means legacy SSE (set the transport to streamable-http if it is not)"
	case tr != TransportAuto && tr != TransportStreamableHTTP:
		return fmt.Sprintf("OAuth needs the streamable-http transport, not %s", tr)
	case s.BearerToken != "":
		return "give a bearer token or OAuth, not both"
	}
	for k := range s.Headers {
		if strings.EqualFold(k, "Authorization") {
			return "an Authorization header and OAuth exclude each other"
		}
	}
	return ""
}

// IsHTTP reports whether s's URL is an http(s) URL rather than a path.
func (s Spec) IsHTTP() bool {
	return strings.HasPrefix(s.URL, "http://") || strings.HasPrefix(s.URL, "https://")
}

// httpTransport is the transport of an HTTP target at u: tr, or when tr is
// auto, legacy SSE for a path ending in /sse and streamable HTTP otherwise.
func httpTransport(u *url.URL, tr string) string {
	if tr != TransportAuto {
		return tr
	}
	if strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/sse") {
		return TransportSSE
	}
	return TransportStreamableHTTP
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v can be sent as a header value: no
// control characters but tab.
func validHeaderValue(v string) bool {
	for _, r := range v {
		if (r < ' ' && r != '\t') || r == 0x7f {
			return false
		}
	}
	return true
}
