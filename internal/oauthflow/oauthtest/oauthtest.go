// Package oauthtest serves a small OAuth 2.1 authorization server and an MCP
// server protected by it, for the tests of oauthflow and of the packages
// that run its flow (check). It is imported only by tests.
package oauthtest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	_ "crypto/sha512" // SHA-384 and SHA-512 for VerifyJWS
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
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
// pre-registered client, its secret. It also grants client_credentials to
// the pre-registered client, authenticated by its secret (in the
// Authorization header or the form) or by a JWT assertion that PublicKey
// verifies. Set the exported fields before the first request.
type AuthServer struct {
	srv *httptest.Server
	// ClientID and ClientSecret are the pre-registered client's.
	ClientID     string
	ClientSecret string
	// Deny makes the authorization endpoint refuse.
	Deny bool
	// TokenAuthMethods are the token_endpoint_auth_methods_supported of
	// the metadata, and the only ones client_credentials accepts; nil
	// means client_secret_post, client_secret_basic, private_key_jwt and
	// none.
	TokenAuthMethods []string
	// PublicKey verifies private_key_jwt assertions; nil refuses them.
	PublicKey crypto.PublicKey
	// SigningAlgs are the token_endpoint_auth_signing_alg_values_supported
	// of the metadata; nil leaves them out.
	SigningAlgs []string
	// ExpiresIn is the tokens' expires_in; 0 means an hour.
	ExpiresIn int

	// mu guards the fields below.
	mu             sync.Mutex
	registrations  []oauthex.ClientRegistrationMetadata
	authorizations []url.Values
	tokenRequests  []url.Values
	tokenAuth      []string          // the client authentication of each token request
	challenges     map[string]string // code → code_challenge
	jtis           map[string]bool   // assertion IDs seen, refused if replayed
	issued         map[string]bool   // access tokens
}

// Requests is what an AuthServer received, in order.
type Requests struct {
	Registrations  []oauthex.ClientRegistrationMetadata
	Authorizations []url.Values
	TokenRequests  []url.Values
	// TokenAuth is how each token request authenticated its client:
	// client_secret_basic, client_secret_post, private_key_jwt or none.
	TokenAuth []string
}

// NewAuthServer starts an AuthServer, closed when t ends.
func NewAuthServer(t testing.TB) *AuthServer {
	a := &AuthServer{ClientID: "pre-registered", ClientSecret: "client-SECRET-7730", challenges: map[string]string{}, issued: map[string]bool{}, jtis: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		meta := map[string]any{
			"issuer":                                a.srv.URL,
			"authorization_endpoint":                a.srv.URL + "/authorize",
			"token_endpoint":                        a.srv.URL + "/token",
			"registration_endpoint":                 a.srv.URL + "/register",
			"response_types_supported":              []string{"code"},
			"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials"},
			"code_challenge_methods_supported":      []string{"S256"},
			"token_endpoint_auth_methods_supported": a.authMethods(),
		}
		if a.SigningAlgs != nil {
			meta["token_endpoint_auth_signing_alg_values_supported"] = a.SigningAlgs
		}
		writeJSON(w, http.StatusOK, meta)
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
		if f.Get("grant_type") == "client_credentials" {
			a.clientCredentials(w, r)
			return
		}
		a.tokenAuth = append(a.tokenAuth, "")
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

func (a *AuthServer) authMethods() []string {
	if a.TokenAuthMethods != nil {
		return a.TokenAuthMethods
	}
	return []string{"client_secret_post", "client_secret_basic", "private_key_jwt", "none"}
}

// clientCredentials answers a client_credentials token request, under
// a.mu: the client must authenticate with a method of authMethods.
func (a *AuthServer) clientCredentials(w http.ResponseWriter, r *http.Request) {
	method, err := a.authenticate(r)
	a.tokenAuth = append(a.tokenAuth, method)
	if err == nil && !slices.Contains(a.authMethods(), method) {
		err = fmt.Errorf("%s is not an allowed method", method)
	}
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": err.Error()})
		return
	}
	a.issued[Token] = true
	expires := a.ExpiresIn
	if expires == 0 {
		expires = 3600
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": Token, "token_type": "Bearer", "expires_in": expires})
}

// authenticate returns how r authenticates the pre-registered client, and
// an error if it does not.
func (a *AuthServer) authenticate(r *http.Request) (string, error) {
	f := r.PostForm
	if id, secret, ok := r.BasicAuth(); ok {
		// RFC 6749 section 2.3.1: both are form-encoded first.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		if id != a.ClientID || secret != a.ClientSecret {
			return "client_secret_basic", errors.New("wrong client ID or secret")
		}
		return "client_secret_basic", nil
	}
	if f.Has("client_assertion") {
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return "private_key_jwt", fmt.Errorf("client_assertion_type %q", f.Get("client_assertion_type"))
		}
		return "private_key_jwt", a.verifyAssertion(f.Get("client_assertion"), f.Get("client_id"))
	}
	if f.Has("client_secret") {
		if f.Get("client_id") != a.ClientID || f.Get("client_secret") != a.ClientSecret {
			return "client_secret_post", errors.New("wrong client ID or secret")
		}
		return "client_secret_post", nil
	}
	return "none", errors.New("no client authentication")
}

// verifyAssertion checks a private_key_jwt assertion (RFC 7523 section 3),
// under a.mu: signed by PublicKey, iss and sub the client, aud the issuer,
// not expired, not replayed.
func (a *AuthServer) verifyAssertion(jws, clientID string) error {
	if a.PublicKey == nil {
		return errors.New("no public key to verify assertions with")
	}
	claims, err := VerifyJWS(jws, a.PublicKey)
	if err != nil {
		return err
	}
	exp, _ := claims["exp"].(float64)
	jti, _ := claims["jti"].(string)
	switch {
	case claims["iss"] != a.ClientID || claims["sub"] != a.ClientID:
		return fmt.Errorf("iss %v and sub %v must be the client ID", claims["iss"], claims["sub"])
	case clientID != "" && clientID != a.ClientID:
		return fmt.Errorf("client_id %q", clientID)
	case claims["aud"] != a.srv.URL:
		return fmt.Errorf("aud %v must be the issuer %s", claims["aud"], a.srv.URL)
	case time.Unix(int64(exp), 0).Before(time.Now()):
		return errors.New("the assertion has expired (or has no exp)")
	case jti == "" || a.jtis[jti]:
		return errors.New("the assertion's jti is missing or replayed")
	}
	a.jtis[jti] = true
	return nil
}

// VerifyJWS checks a compact JWS signed by the private key of pub (ES256,
// ES384, ES512, RS256, RS384, RS512 or EdDSA) and returns its claims. It is
// written apart from oauthflow's signing so that each checks the other.
func VerifyJWS(jws string, pub crypto.PublicKey) (map[string]any, error) {
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	enc := base64.RawURLEncoding
	var header struct{ Alg, Typ string }
	if b, err := enc.DecodeString(parts[0]); err != nil || json.Unmarshal(b, &header) != nil {
		return nil, errors.New("the JWS header does not decode")
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("the JWS signature does not decode")
	}
	signed := []byte(parts[0] + "." + parts[1])
	hashes := map[string]crypto.Hash{"256": crypto.SHA256, "384": crypto.SHA384, "512": crypto.SHA512}
	h := hashes[strings.TrimLeft(header.Alg, "ESR")]
	var digest []byte
	if h != 0 {
		hh := h.New()
		hh.Write(signed)
		digest = hh.Sum(nil)
	}
	ok := false
	switch key := pub.(type) {
	case *ecdsa.PublicKey:
		n := (key.Curve.Params().BitSize + 7) / 8
		want := map[int]string{32: "ES256", 48: "ES384", 66: "ES512"}[n]
		if header.Alg == want && len(sig) == 2*n {
			ok = ecdsa.Verify(key, digest, new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:]))
		}
	case *rsa.PublicKey:
		ok = h != 0 && strings.HasPrefix(header.Alg, "RS") && rsa.VerifyPKCS1v15(key, h, digest, sig) == nil
	case ed25519.PublicKey:
		ok = header.Alg == "EdDSA" && ed25519.Verify(key, signed, sig)
	}
	if !ok {
		return nil, fmt.Errorf("the %s signature does not verify with a %T", header.Alg, pub)
	}
	var claims map[string]any
	if b, err := enc.DecodeString(parts[1]); err != nil || json.Unmarshal(b, &claims) != nil {
		return nil, errors.New("the JWS claims do not decode")
	}
	return claims, nil
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
		TokenAuth:      slices.Clone(a.tokenAuth),
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
