package oauthflow_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/oauthflow"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/oauthflow/oauthtest"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
)

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	const target = "http://127.0.0.1:3000/mcp"
	type Target = oauthflow.Target
	type Options = oauthflow.Options
	tests := []struct {
		name    string
		target  Target
		oauth   Options
		wantErr string // empty: valid
	}{
		{name: "the defaults are valid for an http target", target: Target{URL: target}},
		{name: "a stdio command is refused", target: Target{}, wantErr: "needs an http(s) URL target"},
		{name: "a script path is refused", target: Target{URL: "./server.py"}, wantErr: "needs an http(s) URL target"},
		{name: "a URL ending in /sse is refused", target: Target{URL: "http://127.0.0.1:3000/sse"}, wantErr: "legacy SSE"},
		{name: "the sse transport is refused", target: Target{URL: target, Transport: "sse"}, wantErr: "not sse"},
		{name: "streamable-http is accepted on an /sse path", target: Target{URL: "http://127.0.0.1:3000/sse", Transport: "streamable-http"}},
		{name: "a bearer token as well is refused", target: Target{URL: target, BearerToken: "tok-1234"}, wantErr: "not both"},
		{name: "an Authorization header as well is refused", target: Target{URL: target, Headers: map[string]string{"authorization": "Basic eA=="}}, wantErr: "Authorization header"},
		{name: "a client secret needs a client ID", target: Target{URL: target}, oauth: Options{ClientSecret: "s3cret"}, wantErr: "needs a client ID"},
		{name: "a public pre-registered client is valid", target: Target{URL: target}, oauth: Options{ClientID: "cli"}},
		{name: "a client metadata URL must be https", target: Target{URL: target}, oauth: Options{ClientMetadataURL: "http://example.com/client.json"}, wantErr: "https URL with a path"},
		{name: "a client metadata URL must have a path", target: Target{URL: target}, oauth: Options{ClientMetadataURL: "https://example.com/"}, wantErr: "https URL with a path"},
		{name: "an https client metadata URL with a path is valid", target: Target{URL: target}, oauth: Options{ClientMetadataURL: "https://example.com/client.json"}},
		{name: "a relative redirect URL is refused", target: Target{URL: target}, oauth: Options{RedirectURL: "/callback"}, wantErr: "absolute URL"},
		{name: "a remote redirect URL needs auto-approve", target: Target{URL: target}, oauth: Options{RedirectURL: "https://app.example.com/cb"}, wantErr: "loopback http URL"},
		{name: "a remote redirect URL is valid with auto-approve", target: Target{URL: target}, oauth: Options{RedirectURL: "https://app.example.com/cb", AutoApprove: true}},
		{name: "port 0 is refused on a remote redirect URL", target: Target{URL: target}, oauth: Options{RedirectURL: "https://app.example.com:0/cb", AutoApprove: true}, wantErr: "port 0"},
		{name: "localhost is a loopback redirect URL", target: Target{URL: target}, oauth: Options{RedirectURL: "http://localhost:8976/cb"}},
		{name: "client credentials with a secret are valid", target: Target{URL: target}, oauth: Options{ClientCredentials: true, ClientID: "cli", ClientSecret: "s3cret"}},
		{name: "client credentials with a key are valid", target: Target{URL: target}, oauth: Options{ClientCredentials: true, ClientID: "cli", PrivateKeyFile: "key.pem", SigningAlg: "ES256"}},
		{name: "client credentials need a client ID", target: Target{URL: target}, oauth: Options{ClientCredentials: true, PrivateKeyFile: "key.pem"}, wantErr: "needs a pre-registered client ID"},
		{name: "client credentials need a secret or a key", target: Target{URL: target}, oauth: Options{ClientCredentials: true, ClientID: "cli"}, wantErr: "secret or a private key file"},
		{name: "client credentials take a secret or a key, not both", target: Target{URL: target}, oauth: Options{ClientCredentials: true, ClientID: "cli", ClientSecret: "s3cret", PrivateKeyFile: "key.pem"}, wantErr: "not both"},
		{name: "a signing algorithm needs a key", target: Target{URL: target}, oauth: Options{ClientCredentials: true, ClientID: "cli", ClientSecret: "s3cret", SigningAlg: "ES256"}, wantErr: "needs a private key file"},
		{name: "an unknown signing algorithm is refused", target: Target{URL: target}, oauth: Options{ClientCredentials: true, ClientID: "cli", PrivateKeyFile: "key.pem", SigningAlg: "HS256"}, wantErr: `"HS256" is not one of`},
		{name: "auto-approve is for the authorization-code flow", target: Target{URL: target}, oauth: Options{ClientCredentials: true, ClientID: "cli", ClientSecret: "s3cret", AutoApprove: true}, wantErr: "belong to the authorization-code flow"},
		{name: "a private key without client credentials is refused", target: Target{URL: target}, oauth: Options{ClientID: "cli", PrivateKeyFile: "key.pem"}, wantErr: "is for the client-credentials grant"},
		{name: "client credentials still need an http target", target: Target{}, oauth: Options{ClientCredentials: true, ClientID: "cli", ClientSecret: "s3cret"}, wantErr: "needs an http(s) URL target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.oauth.Validate(tt.target)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, oauthflow.ErrInvalid)
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// connect connects a new manager to target with flow, closing both when t
// ends.
func connect(t *testing.T, target string, o *oauthflow.Options, secrets *redact.Secrets) (*connmgr.Manager, *oauthflow.Flow, error) {
	flow, err := oauthflow.New(o, secrets)
	require.NoError(t, err)
	t.Cleanup(flow.Close)
	mgr := connmgr.New(nil)
	t.Cleanup(func() { _ = mgr.Close() })
	_, _, err = mgr.Connect(t.Context(), connmgr.Spec{URL: target, OAuth: flow, QuietLogs: true, ConnectTimeout: 20 * time.Second})
	return mgr, flow, err
}

func TestFlowAutoApproveRecordsEverySecret(t *testing.T) {
	t.Parallel()
	as := oauthtest.NewAuthServer(t)
	target := oauthtest.NewProtectedServer(t, as, false)
	var secrets redact.Secrets
	mgr, flow, err := connect(t, target, &oauthflow.Options{AutoApprove: true, ClientID: as.ClientID, ClientSecret: as.ClientSecret}, &secrets)
	require.NoError(t, err)
	assert.NoError(t, flow.Failure())
	text := whoami(t, mgr)
	assert.Equal(t, "called with "+oauthtest.Token, text.Text, "the target saw the flow's token")
	assert.Equal(t, "called with ***", secrets.Scrub(text.Text))
	for _, secret := range []string{oauthtest.Token, oauthtest.Code, as.ClientSecret} {
		assert.Equal(t, "***", secrets.Scrub(secret), "%s is recorded as a secret", secret)
	}
	req := as.Requests()
	require.Len(t, req.Authorizations, 1)
	redirect, err := url.Parse(req.Authorizations[0].Get("redirect_uri"))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", redirect.Hostname())
	assert.NotEqual(t, "0", redirect.Port(), "port 0 is replaced by a free port")
}

func TestFlowRunsOnceForRequestsSentTogether(t *testing.T) {
	t.Parallel()
	as := oauthtest.NewAuthServer(t)
	target := oauthtest.NewProtectedServer(t, as, true)
	var secrets redact.Secrets
	mgr, _, err := connect(t, target, &oauthflow.Options{AutoApprove: true}, &secrets)
	require.NoError(t, err)
	// Both requests meet a 401.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { _, errs[0] = mgr.ListTools(t.Context()) })
	wg.Go(func() { _, errs[1] = mgr.Ping(t.Context(), 20*time.Second) })
	wg.Wait()
	assert.NoError(t, errs[0])
	assert.NoError(t, errs[1])
	req := as.Requests()
	assert.Len(t, req.Registrations, 1)
	assert.Len(t, req.Authorizations, 1)
}

// browserPrompt plays the user: when the authorization URL is shown, it
// opens it, following the redirects back to the flow's listener.
type browserPrompt struct {
	once sync.Once
	page chan string
}

var authURL = regexp.MustCompile(`https?://\S+/authorize\?\S+`)

func (b *browserPrompt) Write(p []byte) (int, error) {
	if u := authURL.FindString(string(p)); u != "" {
		b.once.Do(func() {
			go func() {
				client := &http.Client{Timeout: 20 * time.Second}
				resp, err := client.Get(u)
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

func TestFlowWithABrowser(t *testing.T) {
	t.Parallel()
	as := oauthtest.NewAuthServer(t)
	target := oauthtest.NewProtectedServer(t, as, false)
	browser := &browserPrompt{page: make(chan string, 1)}
	var secrets redact.Secrets
	_, _, err := connect(t, target, &oauthflow.Options{Prompt: browser}, &secrets)
	require.NoError(t, err)
	select {
	case page := <-browser.page:
		assert.Contains(t, page, "mcp-test-mcp is authorized")
	case <-time.After(20 * time.Second):
		t.Fatal("the browser never came back")
	}
}

func TestFlowFailureSaysWhy(t *testing.T) {
	t.Parallel()
	as := oauthtest.NewAuthServer(t)
	as.Deny = true
	target := oauthtest.NewProtectedServer(t, as, false)
	var secrets redact.Secrets
	_, flow, err := connect(t, target, &oauthflow.Options{AutoApprove: true}, &secrets)
	require.Error(t, err)
	assert.ErrorContains(t, flow.Failure(), "the authorization server refused: access_denied: the user said no")
}

// whoami calls the protected server's whoami tool, which answers with the
// token it was called with.
func whoami(t *testing.T, mgr *connmgr.Manager) *mcp.TextContent {
	t.Helper()
	res, err := mgr.CallTool(t.Context(), "whoami", nil, 0)
	require.NoError(t, err)
	require.Len(t, res.Result.Content, 1)
	text, ok := res.Result.Content[0].(*mcp.TextContent)
	require.True(t, ok)
	return text
}
