package check

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOAuthOptionsValidate(t *testing.T) {
	t.Parallel()
	const target = "http://127.0.0.1:3000/mcp"
	tests := []struct {
		name    string
		target  Target
		oauth   OAuthOptions
		wantErr string // empty: valid
	}{
		{name: "the defaults are valid for an http target", target: Target{URL: target}},
		{name: "a stdio command is refused", target: Target{Command: "my-server"}, wantErr: "needs an http(s) URL target"},
		{name: "a script path is refused", target: Target{URL: "./server.py"}, wantErr: "needs an http(s) URL target"},
		{name: "a URL ending in /sse is refused", target: Target{URL: "http://127.0.0.1:3000/sse"}, wantErr: "legacy SSE"},
		{name: "the sse transport is refused", target: Target{URL: target, Transport: "sse"}, wantErr: "not sse"},
		{name: "streamable-http is accepted on an /sse path", target: Target{URL: "http://127.0.0.1:3000/sse", Transport: "streamable-http"}},
		{name: "a bearer token as well is refused", target: Target{URL: target, BearerToken: "tok-1234"}, wantErr: "not both"},
		{name: "an Authorization header as well is refused", target: Target{URL: target, Headers: map[string]string{"authorization": "Basic eA=="}}, wantErr: "Authorization header"},
		{name: "a client secret needs a client ID", target: Target{URL: target}, oauth: OAuthOptions{ClientSecret: "s3cret"}, wantErr: "needs a client ID"},
		{name: "a public pre-registered client is valid", target: Target{URL: target}, oauth: OAuthOptions{ClientID: "cli"}},
		{name: "a client metadata URL must be https", target: Target{URL: target}, oauth: OAuthOptions{ClientMetadataURL: "http://example.com/client.json"}, wantErr: "https URL with a path"},
		{name: "a client metadata URL must have a path", target: Target{URL: target}, oauth: OAuthOptions{ClientMetadataURL: "https://example.com/"}, wantErr: "https URL with a path"},
		{name: "an https client metadata URL with a path is valid", target: Target{URL: target}, oauth: OAuthOptions{ClientMetadataURL: "https://example.com/client.json"}},
		{name: "a relative redirect URL is refused", target: Target{URL: target}, oauth: OAuthOptions{RedirectURL: "/callback"}, wantErr: "absolute URL"},
		{name: "a remote redirect URL needs auto-approve", target: Target{URL: target}, oauth: OAuthOptions{RedirectURL: "https://app.example.com/cb"}, wantErr: "loopback http URL"},
		{name: "a remote redirect URL is valid with auto-approve", target: Target{URL: target}, oauth: OAuthOptions{RedirectURL: "https://app.example.com/cb", AutoApprove: true}},
		{name: "port 0 is refused on a remote redirect URL", target: Target{URL: target}, oauth: OAuthOptions{RedirectURL: "https://app.example.com:0/cb", AutoApprove: true}, wantErr: "port 0"},
		{name: "localhost is a loopback redirect URL", target: Target{URL: target}, oauth: OAuthOptions{RedirectURL: "http://localhost:8976/cb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.oauth.validate(&tt.target)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrInvalidOAuth)
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestRunRefusesOAuthForAStdioTarget(t *testing.T) {
	t.Parallel()
	_, err := Run(t.Context(), &Options{Target: &Target{Command: "does-not-matter"}, OAuth: &OAuthOptions{AutoApprove: true}})
	assert.ErrorIs(t, err, ErrInvalidOAuth)
}

// fakeAuthServer is a small OAuth 2.1 authorization server: metadata,
// dynamic client registration, an authorization endpoint that approves at
// once (or refuses, with deny set) and a token endpoint that checks PKCE and,
// for the pre-registered client, its secret.
type fakeAuthServer struct {
	srv          *httptest.Server
	clientID     string // pre-registered
	clientSecret string
	deny         bool

	mu             sync.Mutex
	registrations  []oauthex.ClientRegistrationMetadata
	authorizations []url.Values
	tokenRequests  []url.Values
	challenges     map[string]string // code → code_challenge
	issued         map[string]bool   // access tokens
}

const (
	fakeCode  = "code-SECRET-8123"
	fakeToken = "token-SECRET-5512"
)

func newFakeAuthServer(t *testing.T) *fakeAuthServer {
	a := &fakeAuthServer{clientID: "pre-registered", clientSecret: "client-SECRET-7730", challenges: map[string]string{}, issued: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                a.srv.URL,
			"authorization_endpoint":                a.srv.URL + "/authorize",
			"token_endpoint":                        a.srv.URL + "/token",
			"registration_endpoint":                 a.srv.URL + "/register",
			"response_types_supported":              []string{"code"},
			"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
			"code_challenge_methods_supported":      []string{"S256"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "none"},
		})
	})
	mux.HandleFunc("POST /register", func(w http.ResponseWriter, r *http.Request) {
		var m oauthex.ClientRegistrationMetadata
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.registrations = append(a.registrations, m)
		a.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]any{"client_id": "registered", "redirect_uris": m.RedirectURIs, "token_endpoint_auth_method": "none"})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		a.mu.Lock()
		a.authorizations = append(a.authorizations, q)
		a.challenges[fakeCode] = q.Get("code_challenge")
		a.mu.Unlock()
		back, err := url.Parse(q.Get("redirect_uri"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res := url.Values{"state": {q.Get("state")}}
		if a.deny {
			res.Set("error", "access_denied")
			res.Set("error_description", "the user said no")
		} else {
			res.Set("code", fakeCode)
		}
		back.RawQuery = res.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f := r.PostForm
		a.mu.Lock()
		defer a.mu.Unlock()
		a.tokenRequests = append(a.tokenRequests, f)
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		switch {
		case f.Get("code") != fakeCode:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		case base64.RawURLEncoding.EncodeToString(sum[:]) != a.challenges[fakeCode]:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "PKCE verification failed"})
		case f.Get("client_id") == a.clientID && f.Get("client_secret") != a.clientSecret:
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		default:
			a.issued[fakeToken] = true
			writeJSON(w, http.StatusOK, map[string]any{"access_token": fakeToken, "token_type": "Bearer", "expires_in": 3600})
		}
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeAuthServer) verify(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.issued[token] {
		return nil, auth.ErrInvalidToken
	}
	return &auth.TokenInfo{Expiration: time.Now().Add(time.Hour), Extra: map[string]any{"token": token}}, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// newProtectedServer serves an MCP server at /mcp that needs a token from
// as, with its protected resource metadata. Its tool whoami answers with
// the token it was called with, so that a test can see that it is masked.
// With openInit, initialize needs no token (as in the conformance suite), so
// that the first 401s come to the requests check sends together.
func newProtectedServer(t *testing.T, as *fakeAuthServer, openInit bool) string {
	s := mcp.NewServer(&mcp.Implementation{Name: "protected", Version: "1.0.0"}, nil)
	s.AddTool(&mcp.Tool{Name: "whoami", InputSchema: map[string]any{"type": "object"}}, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		tok, _ := req.Extra.TokenInfo.Extra["token"].(string)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "called with " + tok}}}, nil
	})
	mux := http.NewServeMux()
	rs := httptest.NewUnstartedServer(mux)
	rs.Start()
	t.Cleanup(rs.Close)
	mux.Handle("/.well-known/oauth-protected-resource/mcp", auth.ProtectedResourceMetadataHandler(&oauthex.ProtectedResourceMetadata{
		Resource:             rs.URL + "/mcp",
		AuthorizationServers: []string{as.srv.URL},
	}))
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
	protected := auth.RequireBearerToken(as.verify, &auth.RequireBearerTokenOptions{
		ResourceMetadataURL: rs.URL + "/.well-known/oauth-protected-resource/mcp",
	})(mcpHandler)
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var msg struct{ Method string }
		_ = json.Unmarshal(body, &msg)
		if openInit && r.Header.Get("Authorization") == "" && (msg.Method == "initialize" || strings.HasPrefix(msg.Method, "notifications/")) {
			mcpHandler.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	})
	return rs.URL + "/mcp"
}

// whoamiSpec calls whoami and expects text it cannot have, so that the
// report shows the answer: the token, which must be masked.
func whoamiSpec(t *testing.T) *Spec {
	spec, err := ParseSpec([]byte("steps:\n  - call_tool: whoami\n    expect: {text_contains: nothing-like-this}\n"), "spec.yaml", nil)
	require.NoError(t, err)
	return spec
}

// renderedReports is the report in every format.
func renderedReports(t *testing.T, rep *Report) []string {
	var js, text, junit strings.Builder
	require.NoError(t, rep.WriteJSON(&js))
	require.NoError(t, rep.WriteText(&text, nil))
	require.NoError(t, rep.WriteJUnit(&junit))
	return []string{js.String(), text.String(), junit.String()}
}

func TestRunOAuthAutoApprove(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		preRegistered  bool
		wantClientID   string
		wantRegistered int
	}{
		{name: "a client registered dynamically gets a token", wantClientID: "registered", wantRegistered: 1},
		{name: "a pre-registered client authenticates with its secret", preRegistered: true, wantClientID: "pre-registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := newFakeAuthServer(t)
			target := newProtectedServer(t, as, false)
			oauth := &OAuthOptions{AutoApprove: true}
			if tt.preRegistered {
				oauth.ClientID, oauth.ClientSecret = as.clientID, as.clientSecret
			}
			spec := whoamiSpec(t)
			rep, err := Run(t.Context(), &Options{Spec: spec, Target: &Target{URL: target}, CallAll: true, OAuth: oauth})
			require.NoError(t, err)
			require.Nil(t, rep.ConnectError)
			// Everything passes but the step that shows the token.
			assert.Equal(t, 1, rep.Summary.Failed, "%+v", rep.Checks)
			for _, c := range rep.Checks {
				if c.Group != GroupSteps {
					assert.Equal(t, StatusPassed, c.Status, "%s: %s", c.Name, c.Message)
				}
			}

			as.mu.Lock()
			defer as.mu.Unlock()
			require.Len(t, as.registrations, tt.wantRegistered)
			require.Len(t, as.authorizations, 1)
			authz := as.authorizations[0]
			assert.Equal(t, tt.wantClientID, authz.Get("client_id"))
			assert.Equal(t, "S256", authz.Get("code_challenge_method"))
			assert.Equal(t, target, authz.Get("resource"))
			redirect, err := url.Parse(authz.Get("redirect_uri"))
			require.NoError(t, err)
			assert.Equal(t, "127.0.0.1", redirect.Hostname())
			assert.NotEqual(t, "0", redirect.Port(), "port 0 is replaced by a free port")
			if tt.wantRegistered > 0 {
				assert.Equal(t, []string{authz.Get("redirect_uri")}, as.registrations[0].RedirectURIs)
				assert.Contains(t, as.registrations[0].GrantTypes, "refresh_token")
			}
			require.Len(t, as.tokenRequests, 1)
			assert.Equal(t, target, as.tokenRequests[0].Get("resource"))

			for _, out := range renderedReports(t, rep) {
				for _, secret := range []string{fakeToken, fakeCode, as.clientSecret} {
					assert.NotContains(t, out, secret)
				}
			}
			assert.Contains(t, renderedReports(t, rep)[0], `called with ***`, "the echoed token is masked")
		})
	}
}

// browserPrompt plays the user: when the authorization URL is shown, it
// opens it, following the redirects back to the run's listener.
type browserPrompt struct {
	t    *testing.T
	once sync.Once
	page chan string
}

var authURL = regexp.MustCompile(`https?://\S+/authorize\?\S+`)

func (b *browserPrompt) Write(p []byte) (int, error) {
	if u := authURL.FindString(string(p)); u != "" {
		b.once.Do(func() {
			go func() {
				resp, err := http.Get(u)
				if err != nil {
					b.page <- err.Error()
					return
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				b.page <- string(body)
			}()
		})
	}
	return len(p), nil
}

func TestRunOAuthRunsOneFlowForRequestsSentTogether(t *testing.T) {
	t.Parallel()
	as := newFakeAuthServer(t)
	target := newProtectedServer(t, as, true)
	// A plain check sends tools/list and ping together; both meet a 401.
	rep, err := Run(t.Context(), &Options{Target: &Target{URL: target}, OAuth: &OAuthOptions{AutoApprove: true}})
	require.NoError(t, err)
	assert.Zero(t, rep.Summary.Failed, "%+v", rep.Checks)
	as.mu.Lock()
	defer as.mu.Unlock()
	assert.Len(t, as.registrations, 1)
	assert.Len(t, as.authorizations, 1)
}

func TestRunOAuthWithABrowser(t *testing.T) {
	t.Parallel()
	as := newFakeAuthServer(t)
	target := newProtectedServer(t, as, false)
	browser := &browserPrompt{t: t, page: make(chan string, 1)}
	rep, err := Run(t.Context(), &Options{Target: &Target{URL: target}, OAuth: &OAuthOptions{Prompt: browser}})
	require.NoError(t, err)
	require.Nil(t, rep.ConnectError)
	assert.Zero(t, rep.Summary.Failed)
	assert.Contains(t, <-browser.page, "mcp-test-mcp is authorized")
}

func TestRunOAuthReportsWhyTheFlowFailed(t *testing.T) {
	t.Parallel()
	as := newFakeAuthServer(t)
	as.deny = true
	target := newProtectedServer(t, as, false)
	rep, err := Run(t.Context(), &Options{Target: &Target{URL: target}, OAuth: &OAuthOptions{AutoApprove: true}})
	require.NoError(t, err)
	require.NotNil(t, rep.ConnectError)
	assert.Contains(t, rep.ConnectError.Message, "HTTP 401")
	assert.Contains(t, rep.ConnectError.Message, "the OAuth flow failed: the authorization server refused: access_denied: the user said no")
	assert.Equal(t, 3, rep.ExitCode())
}
