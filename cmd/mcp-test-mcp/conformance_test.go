package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/exitcode"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/oauthflow"
)

func TestConformanceArgs(t *testing.T) {
	t.Parallel()
	base := []string{"--call-all", "--elicitation-action", "accept", "http://localhost:3000/mcp"}
	tests := []struct {
		name       string
		scenario   string
		context    string
		wantArgs   string
		wantShown  string
		wantKey    string // the private key written
		wantErrMsg string
	}{
		{
			name:     "a scenario without auth runs check as given",
			scenario: "tools_call",
			wantArgs: "--call-all --elicitation-action accept http://localhost:3000/mcp",
		},
		{
			name:     "an auth scenario adds the headless OAuth flow before the URL",
			scenario: "auth/metadata-default",
			context:  `{"name":"auth/metadata-default"}`,
			wantArgs: "--call-all --elicitation-action accept --oauth --oauth-auto-approve http://localhost:3000/mcp",
		},
		{
			name:     "auth/basic-cimd gets the client metadata document URL",
			scenario: "auth/basic-cimd",
			wantArgs: "--call-all --elicitation-action accept --oauth --oauth-auto-approve --oauth-client-metadata-url https://conformance-test.local/client-metadata.json http://localhost:3000/mcp",
		},
		{
			name:      "the context's client credentials become a pre-registered client, the secret masked when shown",
			scenario:  "auth/pre-registration",
			context:   `{"name":"auth/pre-registration","client_id":"pre","client_secret":"s3cret-value"}`,
			wantArgs:  "--call-all --elicitation-action accept --oauth --oauth-auto-approve --oauth-client-id pre --oauth-client-secret s3cret-value http://localhost:3000/mcp",
			wantShown: "--call-all --elicitation-action accept --oauth --oauth-auto-approve --oauth-client-id pre --oauth-client-secret *** http://localhost:3000/mcp",
		},
		{
			name:      "auth/client-credentials-basic runs the grant with the context's client and secret, not the authorization-code flow",
			scenario:  "auth/client-credentials-basic",
			context:   `{"client_id":"conformance-test-client","client_secret":"conformance-test-secret"}`,
			wantArgs:  "--call-all --elicitation-action accept --oauth --oauth-client-credentials --oauth-client-id conformance-test-client --oauth-client-secret conformance-test-secret http://localhost:3000/mcp",
			wantShown: "--call-all --elicitation-action accept --oauth --oauth-client-credentials --oauth-client-id conformance-test-client --oauth-client-secret *** http://localhost:3000/mcp",
		},
		{
			name:     "auth/client-credentials-jwt writes the context's key to a file and passes its algorithm",
			scenario: "auth/client-credentials-jwt",
			context:  `{"client_id":"conformance-test-client","private_key_pem":"-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n","signing_algorithm":"ES256"}`,
			wantArgs: "--call-all --elicitation-action accept --oauth --oauth-client-credentials --oauth-client-id conformance-test-client --oauth-private-key-file /tmp/written.pem --oauth-signing-alg ES256 http://localhost:3000/mcp",
			wantKey:  "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n",
		},
		{name: "no scenario is a usage error", wantErrMsg: "MCP_CONFORMANCE_SCENARIO"},
		{name: "a context that is not JSON is a usage error", scenario: "auth/x", context: "{", wantErrMsg: "MCP_CONFORMANCE_CONTEXT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var written []string
			writeKey := func(pem string) (string, error) {
				written = append(written, pem)
				return "/tmp/written.pem", nil
			}
			args, shown, err := conformanceArgs(tt.scenario, tt.context, base, writeKey)
			if usageErrorWanted(t, err, tt.wantErrMsg) {
				return
			}
			if tt.wantKey != "" {
				assert.Equal(t, []string{tt.wantKey}, written)
			} else {
				assert.Empty(t, written)
			}
			assert.Equal(t, tt.wantArgs, strings.Join(args, " "))
			if tt.wantShown == "" {
				tt.wantShown = tt.wantArgs
			}
			assert.Equal(t, tt.wantShown, strings.Join(shown, " "))
		})
	}
}

func TestCheckOAuthFlags(t *testing.T) {
	t.Parallel()
	const url = "http://127.0.0.1:3000/mcp"
	tests := []struct {
		name       string
		flags      checkFlags
		env        map[string]string
		wantOAuth  *oauthflow.Options
		wantBearer string
		wantErrMsg string
	}{
		{name: "without --oauth there is no flow", flags: checkFlags{}},
		{
			name:      "--oauth with the defaults",
			flags:     checkFlags{oauth: true},
			wantOAuth: &oauthflow.Options{},
		},
		{
			name:      "every flag reaches the options",
			flags:     checkFlags{oauth: true, oauthAutoApprove: true, oauthRedirectURL: "http://localhost:8080/cb", oauthClientMetadataURL: "https://example.com/c.json", oauthClientID: "cli", oauthClientSecret: "sec", oauthScopes: listFlag{"a b", "c"}},
			wantOAuth: &oauthflow.Options{AutoApprove: true, RedirectURL: "http://localhost:8080/cb", ClientMetadataURL: "https://example.com/c.json", ClientID: "cli", ClientSecret: "sec", Scopes: []string{"a b", "c"}},
		},
		{
			name:      "the client secret comes from the environment",
			flags:     checkFlags{oauth: true, oauthClientID: "cli"},
			env:       map[string]string{"MCP_TEST_OAUTH_CLIENT_SECRET": "from-env"},
			wantOAuth: &oauthflow.Options{ClientID: "cli", ClientSecret: "from-env"},
		},
		{
			name:      "MCP_TEST_BEARER_TOKEN is left out with --oauth",
			flags:     checkFlags{oauth: true},
			env:       map[string]string{"MCP_TEST_BEARER_TOKEN": "tok-env"},
			wantOAuth: &oauthflow.Options{},
		},
		{
			name:       "MCP_TEST_BEARER_TOKEN is used without --oauth",
			env:        map[string]string{"MCP_TEST_BEARER_TOKEN": "tok-env", "MCP_TEST_OAUTH_CLIENT_SECRET": "ignored"},
			wantBearer: "tok-env",
		},
		{
			name:      "the client-credentials flags reach the options",
			flags:     checkFlags{oauth: true, oauthClientCredentials: true, oauthClientID: "cli", oauthPrivateKeyFile: "key.pem", oauthSigningAlg: "ES256"},
			env:       map[string]string{"MCP_TEST_OAUTH_CLIENT_SECRET": "not-with-a-key"},
			wantOAuth: &oauthflow.Options{ClientCredentials: true, ClientID: "cli", PrivateKeyFile: "key.pem", SigningAlg: "ES256"},
		},
		{
			name:      "client credentials take the secret from the environment",
			flags:     checkFlags{oauth: true, oauthClientCredentials: true, oauthClientID: "cli"},
			env:       map[string]string{"MCP_TEST_OAUTH_CLIENT_SECRET": "from-env"},
			wantOAuth: &oauthflow.Options{ClientCredentials: true, ClientID: "cli", ClientSecret: "from-env"},
		},
		{name: "an --oauth-* flag needs --oauth", flags: checkFlags{oauthAutoApprove: true}, wantErrMsg: "--oauth-auto-approve needs --oauth"},
		{name: "--oauth-client-credentials needs --oauth", flags: checkFlags{oauthClientCredentials: true}, wantErrMsg: "--oauth-client-credentials needs --oauth"},
		{name: "a private key needs --oauth-client-credentials", flags: checkFlags{oauth: true, oauthClientID: "cli", oauthPrivateKeyFile: "key.pem"}, wantErrMsg: "--oauth-private-key-file needs --oauth-client-credentials"},
		{name: "a signing algorithm needs a private key", flags: checkFlags{oauth: true, oauthClientCredentials: true, oauthClientID: "cli", oauthClientSecret: "s", oauthSigningAlg: "ES256"}, wantErrMsg: "--oauth-signing-alg needs --oauth-private-key-file"},
		{name: "a client secret needs a client ID", flags: checkFlags{oauth: true, oauthClientSecret: "sec"}, wantErrMsg: "--oauth-client-secret needs --oauth-client-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := tt.flags
			f.format, f.failOn = "text", "error"
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			opts, err := f.options([]string{url}, false, lookup)
			if usageErrorWanted(t, err, tt.wantErrMsg) {
				return
			}
			assert.Equal(t, tt.wantOAuth, opts.OAuth)
			assert.Equal(t, tt.wantBearer, opts.Target.BearerToken)
		})
	}
}

// usageErrorWanted checks err against want: a usage error containing want,
// or no error when want is empty. It reports whether an error was wanted.
func usageErrorWanted(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		require.NoError(t, err)
		return false
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), want)
	assert.Equal(t, exitcode.Usage, exitCode(err))
	return true
}
