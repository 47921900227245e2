// Package oauthflow is the headless OAuth 2.1 client mcp-test-mcp uses for
// streamable HTTP targets that answer 401 or 403: go-sdk's authorization-code
// handler with PKCE, an auto-approve fetcher for test authorization servers,
// a loopback listener for a browser's redirect, the client-credentials grant
// (with a client secret or a signed JWT assertion) for machine clients, and
// a record of every secret, code, assertion and token it handles so that
// none reaches a report. The check command uses
// it; it hands a Flow to connmgr as the connection's auth.OAuthHandler.
package oauthflow

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
)

// DefaultRedirectURL is the redirect URI used when Options.RedirectURL is
// empty. Port 0 stands for a free port, chosen
// when the run starts.
const DefaultRedirectURL = "http://127.0.0.1:0/callback"

// ErrInvalid is wrapped by the errors of Options.Validate and New for OAuth
// options that cannot work (a stdio target, a bearer token as well, a bad
// URL).
var ErrInvalid = errors.New("invalid OAuth options")

// Options configures the OAuth flow that runs when a streamable HTTP target
// answers 401 or 403: by default the authorization-code flow with PKCE
// (go-sdk's auth.AuthorizationCodeHandler), in which the client registers
// itself, in go-sdk's order of preference: the client ID metadata document
// when the authorization server supports one, else the pre-registered
// client, else dynamic client registration, which is always offered. With
// ClientCredentials, the client-credentials grant instead.
type Options struct {
	// ClientCredentials runs the client-credentials grant (no user, no
	// browser) instead of the authorization-code flow: the pre-registered
	// ClientID authenticates with ClientSecret (client_secret_basic, or
	// client_secret_post where the authorization server lists only that)
	// or with a JWT assertion signed by PrivateKeyFile (private_key_jwt).
	// False means the authorization-code flow.
	ClientCredentials bool
	// PrivateKeyFile is a PEM private key (PKCS #8, SEC 1 EC or PKCS #1
	// RSA) that signs the client assertion of private_key_jwt; empty means
	// none. It needs ClientCredentials and excludes ClientSecret. Its
	// contents are scrubbed from the report, and so is every assertion.
	PrivateKeyFile string
	// SigningAlg is the assertion's JWS algorithm, one of SigningAlgs;
	// empty means the key's own (ES256, ES384, ES512 by curve, RS256 for
	// RSA, EdDSA for Ed25519).
	SigningAlg string
	// RedirectURL is where the authorization server sends the user back and
	// the redirect URI sent in dynamic client registration; empty means
	// DefaultRedirectURL. A loopback http URL with port 0 gets a free
	// port when the run starts. Without AutoApprove it must be a loopback
	// http URL: the run listens there for the browser.
	RedirectURL string
	// AutoApprove takes the authorization code without a browser: it GETs
	// the authorization URL, follows no redirect, and reads code, state and
	// iss from the Location header. Test authorization servers (the
	// conformance suite's) approve at once like that; a real identity
	// provider shows a login page, which needs a browser. False means the
	// authorization URL is written to Prompt and the run waits, within the
	// connect timeout, for the browser to come back to RedirectURL.
	AutoApprove bool
	// ClientMetadataURL is the https URL of a client ID metadata document,
	// used as the client_id by authorization servers that support such
	// documents; empty means none.
	ClientMetadataURL string
	// ClientID is a pre-registered client's ID; empty means none.
	ClientID string
	// ClientSecret is the pre-registered client's secret, for
	// client_secret_post or client_secret_basic; empty means a public
	// client. It is scrubbed from the report.
	ClientSecret string
	// Scopes are requested besides the ones the target asks for (its
	// WWW-Authenticate challenge, else its scopes_supported).
	Scopes []string
	// Prompt receives the authorization URL to open in a browser when
	// AutoApprove is false; nil means os.Stderr.
	Prompt io.Writer
}

// httpTimeout bounds each request of the flow to the authorization
// server (metadata, registration, token, refresh). The token refresh has no
// context of its own, so without it a stuck server would stall a call.
const httpTimeout = 30 * time.Second

// Target is the target OAuth runs against; connmgr.Spec.OAuthProblem
// says whether it can.
type Target = connmgr.Spec

// Validate reports options that cannot work with t, wrapping ErrInvalid.
func (o *Options) Validate(t Target) error {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if why := t.OAuthProblem(); why != "" {
		return invalid("%s", why)
	}
	if o.ClientSecret != "" && o.ClientID == "" {
		return invalid("a client secret needs a client ID")
	}
	if o.ClientCredentials {
		if err := o.validateClientCredentials(); err != nil {
			return invalid("%s", err)
		}
		return nil
	}
	if o.PrivateKeyFile != "" || o.SigningAlg != "" {
		return invalid("a private key (and its signing algorithm) is for the client-credentials grant: turn it on")
	}
	if o.ClientMetadataURL != "" {
		m, err := url.Parse(o.ClientMetadataURL)
		if err != nil || m.Scheme != "https" || m.Host == "" || strings.Trim(m.Path, "/") == "" {
			return invalid("the client metadata URL %q must be an https URL with a path", o.ClientMetadataURL)
		}
	}
	redirect := orDefault(o.RedirectURL, DefaultRedirectURL)
	r, err := url.Parse(redirect)
	if err != nil || r.Scheme == "" || r.Host == "" {
		return invalid("the redirect URL %q must be an absolute URL", redirect)
	}
	if r.Port() == "0" && !isLoopbackHTTP(r) {
		return invalid("the redirect URL %q has port 0, which stands for a free port only on a loopback http URL", redirect)
	}
	if !o.AutoApprove && !isLoopbackHTTP(r) {
		return invalid("the redirect URL %q must be a loopback http URL (127.0.0.1, [::1] or localhost) to receive the browser's redirect; with auto-approve any URL works", redirect)
	}
	return nil
}

// validateClientCredentials reports options that the client-credentials
// grant cannot use.
func (o *Options) validateClientCredentials() error {
	switch {
	case o.ClientID == "":
		return errors.New("the client-credentials grant needs a pre-registered client ID")
	case o.ClientSecret == "" && o.PrivateKeyFile == "":
		return errors.New("the client-credentials grant needs the client's secret or a private key file to sign its assertion")
	case o.ClientSecret != "" && o.PrivateKeyFile != "":
		return errors.New("give the client-credentials grant a client secret or a private key, not both")
	case o.SigningAlg != "" && o.PrivateKeyFile == "":
		return errors.New("a signing algorithm needs a private key file")
	case o.SigningAlg != "" && !slices.Contains(SigningAlgs, o.SigningAlg):
		return fmt.Errorf("the signing algorithm %q is not one of %s", o.SigningAlg, strings.Join(SigningAlgs, ", "))
	case o.ClientMetadataURL != "", o.RedirectURL != "", o.AutoApprove:
		return errors.New("a client metadata URL, a redirect URL and auto-approve belong to the authorization-code flow, not to the client-credentials grant")
	}
	return nil
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// isLoopbackHTTP reports whether u is an http URL on this machine.
func isLoopbackHTTP(u *url.URL) bool {
	if u.Scheme != "http" {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Flow is the OAuth side of one run: go-sdk's handler, and without
// auto-approve the listener that receives the browser's redirect. It is an
// auth.OAuthHandler that records every token it hands out as a secret, so
// that no token can reach the report.
type Flow struct {
	handler  auth.OAuthHandler
	secrets  *redact.Secrets
	prompt   io.Writer
	redirect string

	// flowSem holds one token while a flow runs: check sends its list
	// requests together, and each that meets a 401 would otherwise run a
	// flow of its own (registering, authorizing and, on step-up, asking
	// for the old scopes again).
	flowSem chan struct{}

	srv *http.Server // nil with auto-approve
	// serveDone is closed when srv's Serve returns.
	serveDone chan struct{}

	// mu guards waiting and lastErr.
	mu sync.Mutex
	// waiting receives the browser's redirect; it is non-nil only while an
	// authorization waits for one.
	waiting chan url.Values
	// lastErr is why the latest flow failed; nil after one succeeds. The
	// connection's own error only shows the 401 that started the flow.
	lastErr error
}

var _ auth.OAuthHandler = (*Flow)(nil)

// New builds the handler; for the authorization-code flow without
// auto-approve it starts listening on the redirect URL. secrets receives
// the client secret, the private key, the authorization codes, the
// assertions and the tokens. The caller must call Close.
func New(o *Options, secrets *redact.Secrets) (*Flow, error) {
	f := &Flow{secrets: secrets, prompt: o.Prompt, flowSem: make(chan struct{}, 1)}
	if f.prompt == nil {
		f.prompt = os.Stderr
	}
	secrets.Add(o.ClientSecret)
	if o.ClientCredentials {
		h, err := newClientCredentials(o, secrets)
		if err != nil {
			return nil, err
		}
		f.handler = h
		return f, nil
	}
	redirect, err := url.Parse(orDefault(o.RedirectURL, DefaultRedirectURL))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	fetch := f.autoApprove
	switch {
	case !o.AutoApprove:
		ln, err := net.Listen("tcp", redirect.Host)
		if err != nil {
			return nil, fmt.Errorf("%w: listening for the browser's redirect: %v", ErrInvalid, err)
		}
		redirect.Host = withPort(redirect, ln.Addr())
		f.srv = &http.Server{Handler: http.HandlerFunc(f.callback), ReadHeaderTimeout: 10 * time.Second}
		f.serveDone = make(chan struct{})
		go func() {
			defer close(f.serveDone)
			_ = f.srv.Serve(ln)
		}()
		fetch = f.browser
	case redirect.Port() == "0":
		// Nothing listens with auto-approve, but the registered redirect
		// URI should still be one that could.
		ln, err := net.Listen("tcp", redirect.Host)
		if err != nil {
			return nil, fmt.Errorf("%w: choosing a port for the redirect URL: %v", ErrInvalid, err)
		}
		redirect.Host = withPort(redirect, ln.Addr())
		ln.Close()
	}
	f.redirect = redirect.String()

	cfg := &auth.AuthorizationCodeHandlerConfig{
		RedirectURL:              f.redirect,
		AuthorizationCodeFetcher: fetch,
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{
				RedirectURIs:  []string{f.redirect},
				ClientName:    "mcp-test-mcp",
				GrantTypes:    []string{"authorization_code", "refresh_token"},
				ResponseTypes: []string{"code"},
			},
		},
		// A slow check can outlive a short-lived access token; go-sdk's
		// token source refreshes it.
		RequestRefreshToken: true,
		Client:              &http.Client{Timeout: httpTimeout},
	}
	if o.ClientMetadataURL != "" {
		cfg.ClientIDMetadataDocumentConfig = &auth.ClientIDMetadataDocumentConfig{URL: o.ClientMetadataURL}
	}
	if o.ClientID != "" {
		cfg.PreregisteredClient = &oauthex.ClientCredentials{ClientID: o.ClientID}
		if o.ClientSecret != "" {
			cfg.PreregisteredClient.ClientSecretAuth = &oauthex.ClientSecretAuth{ClientSecret: o.ClientSecret}
		}
	}
	if extra := scopeList(o.Scopes); len(extra) > 0 {
		cfg.ScopeFilter = func(discovered []string) []string {
			out := slices.Clone(discovered)
			for _, s := range extra {
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
			return out
		}
	}
	f.handler, err = auth.NewAuthorizationCodeHandler(cfg)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return f, nil
}

// withPort is u's host with the port of addr, for a URL whose port was 0.
func withPort(u *url.URL, addr net.Addr) string {
	_, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// scopeList splits each entry on commas and spaces.
func scopeList(in []string) []string {
	var out []string
	for _, s := range in {
		out = append(out, strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	return out
}

// Close stops the redirect listener, if there is one. It is idempotent.
func (f *Flow) Close() {
	if f.srv == nil {
		return
	}
	_ = f.srv.Close()
	<-f.serveDone
}

// TokenSource is the handler's, recording every token it returns.
func (f *Flow) TokenSource(ctx context.Context) (oauth2.TokenSource, error) {
	ts, err := f.handler.TokenSource(ctx)
	if ts == nil || err != nil {
		return ts, err
	}
	return recordingSource{ts, f.secrets}, nil
}

// Authorize runs the handler's flow, one at a time. A request that failed
// with a token older than the current one (another flow ran meanwhile) is
// just retried with the new token.
func (f *Flow) Authorize(ctx context.Context, req *http.Request, resp *http.Response) error {
	select {
	case f.flowSem <- struct{}{}:
	case <-ctx.Done():
		resp.Body.Close()
		return ctx.Err()
	}
	defer func() { <-f.flowSem }()
	if f.tokenChangedSince(ctx, req.Header.Get("Authorization")) {
		resp.Body.Close()
		return nil
	}
	err := f.handler.Authorize(ctx, req, resp)
	f.mu.Lock()
	f.lastErr = err
	f.mu.Unlock()
	return err
}

// Failure is why the latest flow failed, or nil. A connection's own error
// only shows the 401 that started the flow.
func (f *Flow) Failure() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastErr
}

// tokenChangedSince reports whether there is a token and header (the failed
// request's Authorization) did not carry it.
func (f *Flow) tokenChangedSince(ctx context.Context, header string) bool {
	ts, err := f.handler.TokenSource(ctx)
	if ts == nil || err != nil {
		return false
	}
	tok, err := ts.Token()
	if err != nil || tok.AccessToken == "" {
		return false
	}
	_, sent, _ := strings.Cut(header, " ")
	return sent != tok.AccessToken
}

// recordingSource adds each token it passes on to secrets.
type recordingSource struct {
	ts      oauth2.TokenSource
	secrets *redact.Secrets
}

func (s recordingSource) Token() (*oauth2.Token, error) {
	t, err := s.ts.Token()
	if t != nil {
		s.secrets.Add(t.AccessToken, t.RefreshToken)
	}
	return t, err
}

// autoApprove is the headless AuthorizationCodeFetcher: the authorization
// endpoint must redirect at once to the redirect URL with the code.
func (f *Flow) autoApprove(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
	client := &http.Client{
		Timeout:       httpTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("auto-approve: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("auto-approve: requesting the authorization endpoint: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	loc, err := resp.Location()
	if err != nil {
		return nil, fmt.Errorf("auto-approve: the authorization endpoint answered %s, not a redirect with a code: only a test authorization server approves at once; a real one needs a browser (turn auto-approve off)", resp.Status)
	}
	return f.result(loc.Query())
}

// browser is the interactive AuthorizationCodeFetcher: it shows the
// authorization URL and waits for the browser to come back to the redirect
// URL.
func (f *Flow) browser(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
	ch := make(chan url.Values, 1)
	f.mu.Lock()
	f.waiting = ch
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		if f.waiting == ch {
			f.waiting = nil
		}
		f.mu.Unlock()
	}()
	fmt.Fprintf(f.prompt, "To authorize mcp-test-mcp, open this URL in a browser:\n\n  %s\n\nWaiting for the redirect to %s …\n", args.URL, f.redirect)
	select {
	case q := <-ch:
		return f.result(q)
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the browser's redirect to %s: %w", f.redirect, ctx.Err())
	}
}

// callback serves the redirect URL: it hands the query to the waiting
// authorization.
func (f *Flow) callback(w http.ResponseWriter, r *http.Request) {
	want, _ := url.Parse(f.redirect)
	if want == nil || r.URL.Path != orDefault(want.Path, "/") {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	ch := f.waiting
	f.waiting = nil
	f.mu.Unlock()
	if ch == nil {
		http.Error(w, "mcp-test-mcp is not waiting for an authorization", http.StatusConflict)
		return
	}
	q := r.URL.Query()
	ch <- q
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if e := q.Get("error"); e != "" {
		fmt.Fprintf(w, "<p>The authorization failed: %s. You can close this window.</p>\n", html.EscapeString(e))
		return
	}
	fmt.Fprint(w, "<p>mcp-test-mcp is authorized. You can close this window.</p>\n")
}

// result turns the redirect's query into the handler's result; the code is
// recorded as a secret.
func (f *Flow) result(q url.Values) (*auth.AuthorizationResult, error) {
	if e := q.Get("error"); e != "" {
		if d := q.Get("error_description"); d != "" {
			e += ": " + d
		}
		return nil, fmt.Errorf("the authorization server refused: %s", e)
	}
	code := q.Get("code")
	if code == "" {
		return nil, errors.New("the authorization server's redirect carries no code")
	}
	f.secrets.Add(code)
	return &auth.AuthorizationResult{Code: code, State: q.Get("state"), Iss: q.Get("iss")}, nil
}
