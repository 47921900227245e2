package check

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/oauthflow"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/oauthflow/oauthtest"
)

func TestRunRefusesOAuthForAStdioTarget(t *testing.T) {
	t.Parallel()
	_, err := Run(t.Context(), &Options{Target: &Target{Command: "does-not-matter"}, OAuth: &oauthflow.Options{AutoApprove: true}})
	assert.ErrorIs(t, err, oauthflow.ErrInvalid)
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
			as := oauthtest.NewAuthServer(t)
			target := oauthtest.NewProtectedServer(t, as, false)
			oauth := &oauthflow.Options{AutoApprove: true}
			if tt.preRegistered {
				oauth.ClientID, oauth.ClientSecret = as.ClientID, as.ClientSecret
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

			req := as.Requests()
			require.Len(t, req.Registrations, tt.wantRegistered)
			require.Len(t, req.Authorizations, 1)
			authz := req.Authorizations[0]
			assert.Equal(t, tt.wantClientID, authz.Get("client_id"))
			assert.Equal(t, "S256", authz.Get("code_challenge_method"))
			assert.Equal(t, target, authz.Get("resource"))
			redirect, err := url.Parse(authz.Get("redirect_uri"))
			require.NoError(t, err)
			assert.Equal(t, "127.0.0.1", redirect.Hostname())
			assert.NotEqual(t, "0", redirect.Port(), "port 0 is replaced by a free port")
			if tt.wantRegistered > 0 {
				assert.Equal(t, []string{authz.Get("redirect_uri")}, req.Registrations[0].RedirectURIs)
				assert.Contains(t, req.Registrations[0].GrantTypes, "refresh_token")
			}
			require.Len(t, req.TokenRequests, 1)
			assert.Equal(t, target, req.TokenRequests[0].Get("resource"))

			for _, out := range renderedReports(t, rep) {
				for _, secret := range []string{oauthtest.Token, oauthtest.Code, as.ClientSecret} {
					assert.NotContains(t, out, secret)
				}
			}
			assert.Contains(t, renderedReports(t, rep)[0], `called with ***`, "the echoed token is masked")
		})
	}
}

func TestRunOAuthReportsWhyTheFlowFailed(t *testing.T) {
	t.Parallel()
	as := oauthtest.NewAuthServer(t)
	as.Deny = true
	target := oauthtest.NewProtectedServer(t, as, false)
	rep, err := Run(t.Context(), &Options{Target: &Target{URL: target}, OAuth: &oauthflow.Options{AutoApprove: true}})
	require.NoError(t, err)
	require.NotNil(t, rep.ConnectError)
	assert.Contains(t, rep.ConnectError.Message, "HTTP 401")
	assert.Contains(t, rep.ConnectError.Message, "the OAuth flow failed: the authorization server refused: access_denied: the user said no")
	assert.Equal(t, 3, rep.ExitCode())
}

func TestRunOAuthClientCredentialsKeepsEverySecretOutOfTheReport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		withKey    bool
		wantMethod string
	}{
		{name: "with the client secret (client_secret_basic)", wantMethod: "client_secret_basic"},
		{name: "with a signed assertion (private_key_jwt)", withKey: true, wantMethod: "private_key_jwt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := oauthtest.NewAuthServer(t)
			target := oauthtest.NewProtectedServer(t, as, false)
			oauth := &oauthflow.Options{ClientCredentials: true, ClientID: as.ClientID}
			var pemText string
			if tt.withKey {
				key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				require.NoError(t, err)
				as.PublicKey = key.Public()
				der, err := x509.MarshalPKCS8PrivateKey(key)
				require.NoError(t, err)
				pemText = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
				oauth.PrivateKeyFile = filepath.Join(t.TempDir(), "key.pem")
				require.NoError(t, os.WriteFile(oauth.PrivateKeyFile, []byte(pemText), 0o600))
			} else {
				oauth.ClientSecret = as.ClientSecret
			}
			rep, err := Run(t.Context(), &Options{Spec: whoamiSpec(t), Target: &Target{URL: target}, CallAll: true, OAuth: oauth})
			require.NoError(t, err)
			require.Nil(t, rep.ConnectError)
			// Everything passes but the step that shows the token.
			assert.Equal(t, 1, rep.Summary.Failed, "%+v", rep.Checks)

			req := as.Requests()
			assert.Empty(t, req.Authorizations)
			require.NotEmpty(t, req.TokenRequests)
			assert.Equal(t, tt.wantMethod, req.TokenAuth[0])
			secrets := []string{oauthtest.Token, as.ClientSecret}
			if tt.withKey {
				secrets = append(secrets, req.TokenRequests[0].Get("client_assertion"), strings.Split(pemText, "\n")[1])
			}
			reports := renderedReports(t, rep)
			for _, out := range reports {
				for _, secret := range secrets {
					assert.NotContains(t, out, secret)
				}
			}
			assert.Contains(t, reports[0], `called with ***`, "the echoed token is masked")
		})
	}
}
