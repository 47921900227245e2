package oauthflow_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/oauthflow"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/oauthflow/oauthtest"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
)

// writeKey writes key as PEM in format (PRIVATE KEY, EC PRIVATE KEY or RSA
// PRIVATE KEY) to a file and returns its path and contents.
func writeKey(t *testing.T, key crypto.Signer, format string) (path, contents string) {
	t.Helper()
	var der []byte
	var err error
	switch format {
	case "PRIVATE KEY":
		der, err = x509.MarshalPKCS8PrivateKey(key)
	case "EC PRIVATE KEY":
		der, err = x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	case "RSA PRIVATE KEY":
		der = x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))
	}
	require.NoError(t, err)
	b := pem.EncodeToMemory(&pem.Block{Type: format, Bytes: der})
	path = filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path, string(b)
}

func ecKey(t *testing.T, c elliptic.Curve) crypto.Signer {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	require.NoError(t, err)
	return k
}

func TestClientCredentialsGetsATokenWithoutAUser(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	tests := []struct {
		name       string
		methods    []string      // the server's; nil means its default
		key        crypto.Signer // nil: the client secret
		keyFormat  string
		alg        string
		wantMethod string
		wantAlg    string
	}{
		{name: "a client secret goes in the Authorization header", wantMethod: "client_secret_basic"},
		{name: "a server that lists only client_secret_basic gets it", methods: []string{"client_secret_basic"}, wantMethod: "client_secret_basic"},
		{name: "a server that lists only client_secret_post gets the secret in the form", methods: []string{"client_secret_post"}, wantMethod: "client_secret_post"},
		{name: "a P-256 key in PKCS #8 signs with ES256", key: ecKey(t, elliptic.P256()), keyFormat: "PRIVATE KEY", wantMethod: "private_key_jwt", wantAlg: "ES256"},
		{name: "a P-384 key in SEC 1 signs with ES384", key: ecKey(t, elliptic.P384()), keyFormat: "EC PRIVATE KEY", wantMethod: "private_key_jwt", wantAlg: "ES384"},
		{name: "a P-521 key signs with ES512", key: ecKey(t, elliptic.P521()), keyFormat: "PRIVATE KEY", wantMethod: "private_key_jwt", wantAlg: "ES512"},
		{name: "an RSA key in PKCS #1 signs with RS256", key: rsaKey, keyFormat: "RSA PRIVATE KEY", wantMethod: "private_key_jwt", wantAlg: "RS256"},
		{name: "an RSA key signs with the RS384 asked for", key: rsaKey, keyFormat: "PRIVATE KEY", alg: "RS384", wantMethod: "private_key_jwt", wantAlg: "RS384"},
		{name: "an Ed25519 key signs with EdDSA", key: edKey, keyFormat: "PRIVATE KEY", wantMethod: "private_key_jwt", wantAlg: "EdDSA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := oauthtest.NewAuthServer(t)
			as.TokenAuthMethods = tt.methods
			o := &oauthflow.Options{ClientCredentials: true, ClientID: as.ClientID, SigningAlg: tt.alg}
			var pemText string
			if tt.key != nil {
				as.PublicKey = tt.key.Public()
				o.PrivateKeyFile, pemText = writeKey(t, tt.key, tt.keyFormat)
			} else {
				o.ClientSecret = as.ClientSecret
			}
			target := oauthtest.NewProtectedServer(t, as, false)
			var secrets redact.Secrets
			mgr, flow, err := connect(t, target, o, &secrets)
			require.NoError(t, err)
			assert.NoError(t, flow.Failure())
			text := whoami(t, mgr)
			assert.Equal(t, "called with "+oauthtest.Token, text.Text, "the target saw the grant's token")

			req := as.Requests()
			assert.Empty(t, req.Authorizations, "no authorization endpoint, no user")
			assert.Empty(t, req.Registrations)
			require.Len(t, req.TokenRequests, 1, "one token, reused")
			form := req.TokenRequests[0]
			assert.Equal(t, "client_credentials", form.Get("grant_type"))
			assert.Equal(t, target, form.Get("resource"), "RFC 8707: the token is for the target")
			assert.Equal(t, []string{tt.wantMethod}, req.TokenAuth)
			assert.Equal(t, tt.wantMethod == "client_secret_post", form.Has("client_secret"), "the secret is in the form only for client_secret_post")
			wantSecrets := []string{oauthtest.Token}
			if tt.key != nil {
				a := form.Get("client_assertion")
				header, err := base64.RawURLEncoding.DecodeString(strings.Split(a, ".")[0])
				require.NoError(t, err)
				assert.Contains(t, string(header), `"alg":"`+tt.wantAlg+`"`)
				wantSecrets = append(wantSecrets, a, pemText, strings.Split(pemText, "\n")[1])
			} else {
				wantSecrets = append(wantSecrets, as.ClientSecret)
			}
			for _, s := range wantSecrets {
				assert.Equal(t, "***", secrets.Scrub(s), "%.20s… is recorded as a secret", s)
			}
		})
	}
}

func TestClientCredentialsSignsAFreshAssertionForEachToken(t *testing.T) {
	t.Parallel()
	as := oauthtest.NewAuthServer(t)
	// Shorter than oauth2's ten-second margin: every use of the token
	// asks for a new one, and the server refuses a replayed assertion.
	as.ExpiresIn = 5
	key := ecKey(t, elliptic.P256())
	as.PublicKey = key.Public()
	path, _ := writeKey(t, key, "PRIVATE KEY")
	target := oauthtest.NewProtectedServer(t, as, false)
	var secrets redact.Secrets
	mgr, _, err := connect(t, target, &oauthflow.Options{ClientCredentials: true, ClientID: as.ClientID, PrivateKeyFile: path}, &secrets)
	require.NoError(t, err)
	for range 2 {
		_, err := mgr.CallTool(t.Context(), "whoami", nil, 0)
		require.NoError(t, err)
	}
	req := as.Requests()
	require.GreaterOrEqual(t, len(req.TokenRequests), 3)
	seen := map[string]bool{}
	for _, f := range req.TokenRequests {
		a := f.Get("client_assertion")
		assert.False(t, seen[a], "an assertion is used once")
		seen[a] = true
	}
}

func TestClientCredentialsFailureSaysWhy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, as *oauthtest.AuthServer, o *oauthflow.Options)
		wantErr string
	}{
		{
			name: "a wrong secret is refused by the token endpoint",
			setup: func(t *testing.T, as *oauthtest.AuthServer, o *oauthflow.Options) {
				o.ClientSecret = "wrong-SECRET-0042"
			},
			wantErr: "refused the client_credentials grant: invalid_client: wrong client ID or secret",
		},
		{
			name: "an assertion the server cannot verify is refused",
			setup: func(t *testing.T, as *oauthtest.AuthServer, o *oauthflow.Options) {
				as.PublicKey = ecKey(t, elliptic.P256()).Public()
				o.PrivateKeyFile, _ = writeKey(t, ecKey(t, elliptic.P256()), "PRIVATE KEY")
			},
			wantErr: "invalid_client: the ES256 signature does not verify",
		},
		{
			name: "a key whose algorithm the server does not list is not sent",
			setup: func(t *testing.T, as *oauthtest.AuthServer, o *oauthflow.Options) {
				as.SigningAlgs = []string{"RS256"}
				o.PrivateKeyFile, _ = writeKey(t, ecKey(t, elliptic.P256()), "PRIVATE KEY")
			},
			wantErr: "accepts client assertions signed with RS256, not ES256",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := oauthtest.NewAuthServer(t)
			o := &oauthflow.Options{ClientCredentials: true, ClientID: as.ClientID}
			tt.setup(t, as, o)
			target := oauthtest.NewProtectedServer(t, as, false)
			var secrets redact.Secrets
			_, flow, err := connect(t, target, o, &secrets)
			require.Error(t, err)
			require.Error(t, flow.Failure())
			assert.ErrorContains(t, flow.Failure(), tt.wantErr)
			assert.NotContains(t, flow.Failure().Error(), "wrong-SECRET-0042")
		})
	}
}

func TestNewRefusesABadPrivateKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ecPath, ecPEM := writeKey(t, ecKey(t, elliptic.P256()), "PRIVATE KEY")
	pubDER, err := x509.MarshalPKIXPublicKey(ecKey(t, elliptic.P256()).Public())
	require.NoError(t, err)
	pubPath := filepath.Join(dir, "pub.pem")
	require.NoError(t, os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600))
	// A valid PEM frame around bytes that are not a key.
	badPath := filepath.Join(dir, "bad.pem")
	require.NoError(t, os.WriteFile(badPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not-a-KEY-9931")}), 0o600))
	textPath := filepath.Join(dir, "text.pem")
	require.NoError(t, os.WriteFile(textPath, []byte("hello"), 0o600))
	tests := []struct {
		name, path, alg, wantErr string
	}{
		{name: "a missing file", path: filepath.Join(dir, "none.pem"), wantErr: "reading the private key"},
		{name: "a file that is not PEM", path: textPath, wantErr: "no PEM block found"},
		{name: "a public key", path: pubPath, wantErr: `"PUBLIC KEY", not a private key`},
		{name: "a PEM block that is not a key", path: badPath, wantErr: "parsing the private key"},
		{name: "an algorithm the key cannot sign with", path: ecPath, alg: "RS256", wantErr: "the key signs with ES256, not RS256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var secrets redact.Secrets
			_, err := oauthflow.New(&oauthflow.Options{ClientCredentials: true, ClientID: "cli", PrivateKeyFile: tt.path, SigningAlg: tt.alg}, &secrets)
			require.ErrorIs(t, err, oauthflow.ErrInvalid)
			assert.ErrorContains(t, err, tt.wantErr)
			assert.NotContains(t, err.Error(), strings.Split(ecPEM, "\n")[1])
		})
	}
}

func TestClientCredentialsSendNothingWhenTheMetadataIsForAnotherResource(t *testing.T) {
	t.Parallel()
	as := oauthtest.NewAuthServer(t)
	// A target whose challenge names metadata for another resource, with
	// the real authorization server: the secret must go neither there nor,
	// by the 2025-03-26 fallback, to the target's own /token.
	var fallbackHits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		fallbackHits.Add(1)
		http.Error(w, "no", http.StatusBadRequest)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("/prm", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"resource":"https://evil.example.com/mcp","authorization_servers":[%q]}`, as.URL())
	})
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+srv.URL+`/prm"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	var secrets redact.Secrets
	_, flow, err := connect(t, srv.URL+"/mcp", &oauthflow.Options{ClientCredentials: true, ClientID: as.ClientID, ClientSecret: as.ClientSecret}, &secrets)
	require.Error(t, err)
	assert.ErrorContains(t, flow.Failure(), "reading the protected resource metadata the target names")
	assert.ErrorContains(t, flow.Failure(), "evil.example.com")
	assert.Empty(t, as.Requests().TokenRequests)
	assert.Zero(t, fallbackHits.Load())
}
