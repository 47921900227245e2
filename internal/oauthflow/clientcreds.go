package oauthflow

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
)

// clientCredentials is the auth.OAuthHandler of the client-credentials grant
// (RFC 6749 section 4.4, the MCP ext-auth SEP-1046): no user, no browser.
// On a 401 it discovers the token endpoint as the authorization-code flow
// does (protected resource metadata, then authorization server metadata)
// and asks for a token with the client's secret (client_secret_basic, or
// client_secret_post where the server offers only that) or with a signed
// JWT assertion (private_key_jwt). go-sdk's extauth.ClientCredentialsHandler
// does only the secret, sends no resource parameter and sets its token
// source without a lock while requests read it.
type clientCredentials struct {
	clientID string
	secret   string      // empty with key
	key      *signingKey // nil with secret
	extra    []string    // scopes requested besides the target's
	client   *http.Client
	secrets  *redact.Secrets

	// mu guards ts and granted.
	mu sync.Mutex
	// ts is nil until an authorization succeeds.
	ts oauth2.TokenSource
	// granted are the scopes asked for so far, by issuer, so that a
	// step-up keeps the earlier ones.
	granted map[string][]string
}

var _ auth.OAuthHandler = (*clientCredentials)(nil)

// newClientCredentials builds the handler of o (validated), reading and
// recording its private key.
func newClientCredentials(o *Options, secrets *redact.Secrets) (*clientCredentials, error) {
	c := &clientCredentials{
		clientID: o.ClientID,
		secret:   o.ClientSecret,
		extra:    scopeList(o.Scopes),
		client:   &http.Client{Timeout: httpTimeout},
		secrets:  secrets,
	}
	if o.PrivateKeyFile == "" {
		return c, nil
	}
	pemBytes, err := os.ReadFile(o.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the private key: %v", ErrInvalid, err)
	}
	// The key as a whole and line by line, should part of it be quoted.
	secrets.Add(string(pemBytes), strings.TrimSpace(string(pemBytes)))
	for _, line := range strings.Split(string(pemBytes), "\n") {
		if !strings.HasPrefix(line, "-----") {
			secrets.Add(strings.TrimSpace(line))
		}
	}
	c.key, err = parseSigningKey(pemBytes, o.SigningAlg)
	if err != nil {
		return nil, fmt.Errorf("%w: the private key %s: %v", ErrInvalid, o.PrivateKeyFile, err)
	}
	return c, nil
}

func (c *clientCredentials) TokenSource(context.Context) (oauth2.TokenSource, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ts, nil
}

// tokenEndpoint is what a token request needs to know of the servers.
type tokenEndpoint struct {
	url      string
	issuer   string
	resource string
	scopes   []string
	style    oauth2.AuthStyle
}

// Authorize gets a token for the resource that answered resp. A 403 other
// than insufficient_scope is left to the caller, as go-sdk's
// authorization-code handler does.
func (c *clientCredentials) Authorize(ctx context.Context, req *http.Request, resp *http.Response) error {
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	challenges, err := oauthex.ParseWWWAuthenticate(resp.Header.Values("WWW-Authenticate"))
	if err != nil {
		return fmt.Errorf("parsing the target's WWW-Authenticate header: %w", err)
	}
	if resp.StatusCode == http.StatusForbidden && challengeParam(challenges, "error") != "insufficient_scope" {
		return nil
	}
	prm, err := c.resourceMetadata(ctx, challenges, req.URL.String())
	if err != nil {
		return err
	}
	asm, err := auth.GetAuthServerMetadata(ctx, prm.AuthorizationServers[0], c.client)
	if err != nil {
		return fmt.Errorf("reading the authorization server's metadata: %w", err)
	}
	if asm == nil {
		// The 2025-03-26 fallback: the authorization server at its
		// default endpoints.
		asm = &oauthex.AuthServerMeta{Issuer: prm.AuthorizationServers[0], TokenEndpoint: strings.TrimRight(prm.AuthorizationServers[0], "/") + "/token"}
	}
	if len(asm.GrantTypesSupported) > 0 && !slices.Contains(asm.GrantTypesSupported, "client_credentials") {
		return fmt.Errorf("the authorization server %s does not offer the client_credentials grant (its grant_types_supported: %s); drop --oauth-client-credentials to run the authorization-code flow", asm.Issuer, strings.Join(asm.GrantTypesSupported, " "))
	}
	ep := tokenEndpoint{url: asm.TokenEndpoint, issuer: asm.Issuer, resource: prm.Resource}
	if c.key != nil {
		if algs := asm.TokenEndpointAuthSigningAlgValuesSupported; len(algs) > 0 && !slices.Contains(algs, c.key.alg) {
			return fmt.Errorf("the authorization server accepts client assertions signed with %s, not %s: give a key (and --oauth-signing-alg) it accepts", strings.Join(algs, ", "), c.key.alg)
		}
		ep.style = oauth2.AuthStyleInParams
	} else {
		ep.style = secretStyle(asm.TokenEndpointAuthMethodsSupported)
	}
	scopes := strings.Fields(challengeParam(challenges, "scope"))
	if len(scopes) == 0 {
		scopes = prm.ScopesSupported
	}
	c.mu.Lock()
	ep.scopes = union(c.granted[asm.Issuer], scopes, c.extra)
	c.mu.Unlock()

	tok, err := c.token(ctx, ep)
	if err != nil {
		return err
	}
	// Later tokens are fetched when this one expires, by whichever request
	// finds it expired; they get the HTTP client's timeout as their
	// deadline, having no context of their own.
	ts := oauth2.ReuseTokenSource(tok, refreshSource{c, ep})
	c.mu.Lock()
	c.ts = ts
	if c.granted == nil {
		c.granted = map[string][]string{}
	}
	c.granted[asm.Issuer] = ep.scopes
	c.mu.Unlock()
	return nil
}

// token asks ep for a token, with a new assertion for private_key_jwt.
func (c *clientCredentials) token(ctx context.Context, ep tokenEndpoint) (*oauth2.Token, error) {
	cfg := clientcredentials.Config{
		ClientID:       c.clientID,
		ClientSecret:   c.secret,
		TokenURL:       ep.url,
		Scopes:         ep.scopes,
		AuthStyle:      ep.style,
		EndpointParams: url.Values{},
	}
	if ep.resource != "" {
		// RFC 8707: the token is for this resource (the MCP server).
		cfg.EndpointParams.Set("resource", ep.resource)
	}
	if c.key != nil {
		a, err := c.key.assertion(c.clientID, ep.issuer, time.Now())
		if err != nil {
			return nil, err
		}
		c.secrets.Add(a)
		cfg.EndpointParams.Set("client_assertion_type", ClientAssertionType)
		cfg.EndpointParams.Set("client_assertion", a)
	}
	tok, err := cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, c.client))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("the token endpoint %s refused the client_credentials grant: %s", ep.url, describeRetrieveError(re))
		}
		return nil, fmt.Errorf("requesting a token from %s: %w", ep.url, err)
	}
	c.secrets.Add(tok.AccessToken, tok.RefreshToken)
	return tok, nil
}

// describeRetrieveError is the OAuth error of a token response, else its
// HTTP status: the body is not quoted, since a server may echo what it was
// sent.
func describeRetrieveError(re *oauth2.RetrieveError) string {
	if re.ErrorCode == "" {
		if re.Response != nil {
			return "HTTP " + re.Response.Status
		}
		return "no OAuth error code"
	}
	if re.ErrorDescription != "" {
		return re.ErrorCode + ": " + re.ErrorDescription
	}
	return re.ErrorCode
}

// refreshSource gets a new token when the current one expires: the
// client-credentials grant has no refresh token, it just asks again.
type refreshSource struct {
	c  *clientCredentials
	ep tokenEndpoint
}

func (s refreshSource) Token() (*oauth2.Token, error) {
	return s.c.token(context.Background(), s.ep)
}

// secretStyle is how the client secret is sent: in the Authorization header
// (client_secret_basic, the default of RFC 8414 when the server lists no
// methods) unless the server lists client_secret_post and not basic.
func secretStyle(methods []string) oauth2.AuthStyle {
	if slices.Contains(methods, "client_secret_post") && !slices.Contains(methods, "client_secret_basic") {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// resourceMetadata finds the protected resource metadata of resource: at
// the challenge's resource_metadata URL, else under the resource's path,
// else at the root (the MCP authorization spec's order). Without any, the
// 2025-03-26 rule applies: the resource's origin is the authorization
// server. A resource_metadata URL that does not serve valid metadata for
// resource is an error, not a reason to fall back: the client's
// credentials must not go to a server the target did not name.
func (c *clientCredentials) resourceMetadata(ctx context.Context, challenges []oauthex.Challenge, resource string) (*oauthex.ProtectedResourceMetadata, error) {
	ru, err := url.Parse(resource)
	if err != nil {
		return nil, fmt.Errorf("parsing the target URL: %w", err)
	}
	type candidate struct {
		url, resource string
		named         bool // by the target's challenge
	}
	var cands []candidate
	for _, ch := range challenges {
		if u := ch.Params["resource_metadata"]; u != "" {
			cands = append(cands, candidate{u, resource, true})
			break
		}
	}
	mu := *ru
	mu.RawQuery, mu.Fragment = "", ""
	mu.Path = "/.well-known/oauth-protected-resource/" + strings.TrimLeft(ru.Path, "/")
	cands = append(cands, candidate{mu.String(), resource, false})
	origin := *ru
	origin.Path, origin.RawQuery, origin.Fragment = "", "", ""
	mu.Path = "/.well-known/oauth-protected-resource"
	cands = append(cands, candidate{mu.String(), origin.String(), false})
	var errs []error
	for _, cand := range cands {
		prm, err := oauthex.GetProtectedResourceMetadata(ctx, cand.url, cand.resource, c.client)
		if err != nil && cand.named {
			return nil, fmt.Errorf("reading the protected resource metadata the target names: %w", err)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(prm.AuthorizationServers) == 0 {
			return nil, fmt.Errorf("the protected resource metadata at %s names no authorization server", cand.url)
		}
		return prm, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("discovering the protected resource metadata: %w", errors.Join(errs...))
	}
	return &oauthex.ProtectedResourceMetadata{Resource: resource, AuthorizationServers: []string{origin.String()}}, nil
}

// challengeParam is param of the first Bearer challenge that has it.
func challengeParam(cs []oauthex.Challenge, param string) string {
	for _, c := range cs {
		if c.Scheme == "bearer" && c.Params[param] != "" {
			return c.Params[param]
		}
	}
	return ""
}

// union is the scopes of every list, each once, in order.
func union(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, s := range l {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}
