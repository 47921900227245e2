// Package oauthtest serves a small OAuth 2.1 authorization server and an MCP
// server protected by it, for the tests of oauthflow and of the packages
// that run its flow (check). It is imported only by tests.
package oauthtest

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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// The authorization code and the access token the server hands out; both
// must never reach a report.
const (
	Code  = "code-SECRET-8123"
	Token = "token-SECRET-5512"
)

// AuthServer is a small OAuth 2.1 authorization server: metadata, dynamic
// client registration, an authorization endpoint that approves at once (or
// refuses, with Deny set) and a token endpoint that checks PKCE and, for the
// pre-registered client, its secret.
type AuthServer struct {
	srv *httptest.Server
	// ClientID and ClientSecret are the pre-registered client's.
	ClientID     string
	ClientSecret string
	// Deny makes the authorization endpoint refuse; set it before the
	// first request.
	Deny bool

	// mu guards the fields below.
	mu             sync.Mutex
	registrations  []oauthex.ClientRegistrationMetadata
	authorizations []url.Values
	tokenRequests  []url.Values
	challenges     map[string]string // code → code_challenge
	issued         map[string]bool   // access tokens
}

// Requests is what an AuthServer received, in order.
type Requests struct {
	Registrations  []oauthex.ClientRegistrationMetadata
	Authorizations []url.Values
	TokenRequests  []url.Values
}

// NewAuthServer starts an AuthServer, closed when t ends.
func NewAuthServer(t testing.TB) *AuthServer {
	a := &AuthServer{ClientID: "pre-registered", ClientSecret: "client-SECRET-7730", challenges: map[string]string{}, issued: map[string]bool{}}
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
		a.challenges[Code] = q.Get("code_challenge")
		a.mu.Unlock()
		back, err := url.Parse(q.Get("redirect_uri"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res := url.Values{"state": {q.Get("state")}}
		if a.Deny {
			res.Set("error", "access_denied")
			res.Set("error_description", "the user said no")
		} else {
			res.Set("code", Code)
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
		case f.Get("code") != Code:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		case base64.RawURLEncoding.EncodeToString(sum[:]) != a.challenges[Code]:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "PKCE verification failed"})
		case f.Get("client_id") == a.ClientID && f.Get("client_secret") != a.ClientSecret:
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		default:
			a.issued[Token] = true
			writeJSON(w, http.StatusOK, map[string]any{"access_token": Token, "token_type": "Bearer", "expires_in": 3600})
		}
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

// URL is the authorization server's issuer URL.
func (a *AuthServer) URL() string { return a.srv.URL }

// Requests returns copies of the requests received so far.
func (a *AuthServer) Requests() Requests {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Requests{
		Registrations:  slices.Clone(a.registrations),
		Authorizations: slices.Clone(a.authorizations),
		TokenRequests:  slices.Clone(a.tokenRequests),
	}
}

func (a *AuthServer) verify(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
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

// NewProtectedServer serves an MCP server at /mcp that needs a token from
// as, with its protected resource metadata, and returns its URL. Its tool
// whoami answers with the token it was called with, so that a test can see
// that it is masked. With openInit, initialize needs no token (as in the
// conformance suite), so that the first 401s come to the requests sent
// after it, together.
func NewProtectedServer(t testing.TB, as *AuthServer, openInit bool) string {
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
