package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// conformanceCIMDURL is the client ID metadata document URL that the
// conformance suite's auth/basic-cimd scenario expects as client_id. Nothing
// is served there: the scenario only checks the client_id.
const conformanceCIMDURL = "https://conformance-test.local/client-metadata.json"

// conformanceContext is the part of MCP_CONFORMANCE_CONTEXT that the
// scenarios we run use: the pre-registered client of auth/pre-registration
// and auth/client-credentials-basic, and the private key and its algorithm
// of auth/client-credentials-jwt.
type conformanceContext struct {
	ClientID         string `json:"client_id"`
	ClientSecret     string `json:"client_secret"`
	PrivateKeyPEM    string `json:"private_key_pem"`
	SigningAlgorithm string `json:"signing_algorithm"`
}

// runConformanceClient is the hidden `mcp-test-mcp conformance-client [check
// flags] URL`, the client that make conformance hands the official MCP
// conformance suite. The suite appends the scenario's server URL and names
// the scenario in MCP_CONFORMANCE_SCENARIO (and its data in
// MCP_CONFORMANCE_CONTEXT, JSON); this adds the check flags that scenario
// needs and runs check.
func runConformanceClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var dir string
	defer func() {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}()
	// A private key in the context goes to a file of our own, for
	// --oauth-private-key-file, removed when check returns.
	writeKey := func(pem string) (string, error) {
		var err error
		if dir, err = os.MkdirTemp("", "mcp-test-mcp-conformance-"); err != nil {
			return "", fmt.Errorf("writing the scenario's private key: %w", err)
		}
		path := filepath.Join(dir, "client-key.pem")
		if err := os.WriteFile(path, []byte(pem), 0o600); err != nil {
			return "", fmt.Errorf("writing the scenario's private key: %w", err)
		}
		return path, nil
	}
	checkArgs, shown, err := conformanceArgs(os.Getenv("MCP_CONFORMANCE_SCENARIO"), os.Getenv("MCP_CONFORMANCE_CONTEXT"), args, writeKey)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mcp-test-mcp check %s\n", strings.Join(shown, " "))
	return runCheck(ctx, checkArgs, stdout, stderr)
}

// conformanceArgs returns check's arguments for scenario: args with the
// scenario's flags inserted before the last one (the server URL), and the
// same with the client secret masked, to show. writeKey stores the
// context's private key in a file and returns its path.
//
// The auth/client-credentials-* scenarios get --oauth
// --oauth-client-credentials with the context's client and its secret, or
// its private key and signing algorithm. Every other auth/ scenario gets
// --oauth --oauth-auto-approve (the suite's authorization servers redirect
// at once); client credentials in the context become a pre-registered
// client; auth/basic-cimd gets the client ID metadata document URL it checks
// for. Only that scenario does: others whose authorization server supports
// such documents (offline-access-scope) check what dynamic registration
// sends.
func conformanceArgs(scenario, rawContext string, args []string, writeKey func(pem string) (string, error)) (checkArgs, shown []string, err error) {
	if len(args) == 0 {
		return nil, nil, &usageError{"conformance-client needs the server URL as its last argument"}
	}
	if scenario == "" {
		return nil, nil, &usageError{"conformance-client needs MCP_CONFORMANCE_SCENARIO"}
	}
	var cc conformanceContext
	if rawContext != "" {
		if err := json.Unmarshal([]byte(rawContext), &cc); err != nil {
			return nil, nil, &usageError{fmt.Sprintf("MCP_CONFORMANCE_CONTEXT: %v", err)}
		}
	}
	var extra, masked []string
	switch {
	case strings.HasPrefix(scenario, "auth/client-credentials-"):
		extra = append(extra, "--oauth", "--oauth-client-credentials")
	case strings.HasPrefix(scenario, "auth/"):
		extra = append(extra, "--oauth", "--oauth-auto-approve")
		if scenario == "auth/basic-cimd" {
			extra = append(extra, "--oauth-client-metadata-url", conformanceCIMDURL)
		}
	}
	if len(extra) > 0 {
		masked = slices.Clone(extra)
		add := func(flag, value, shownValue string) {
			extra = append(extra, flag, value)
			masked = append(masked, flag, shownValue)
		}
		if cc.ClientID != "" {
			add("--oauth-client-id", cc.ClientID, cc.ClientID)
			if cc.ClientSecret != "" {
				add("--oauth-client-secret", cc.ClientSecret, "***")
			}
		}
		if cc.PrivateKeyPEM != "" {
			path, err := writeKey(cc.PrivateKeyPEM)
			if err != nil {
				return nil, nil, err
			}
			add("--oauth-private-key-file", path, path)
			if cc.SigningAlgorithm != "" {
				add("--oauth-signing-alg", cc.SigningAlgorithm, cc.SigningAlgorithm)
			}
		}
	}
	build := func(flags []string) []string {
		out := append([]string{}, args[:len(args)-1]...)
		out = append(out, flags...)
		return append(out, args[len(args)-1])
	}
	return build(extra), build(masked), nil
}
