package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// conformanceCIMDURL is the client ID metadata document URL that the
// conformance suite's auth/basic-cimd scenario expects as client_id. Nothing
// is served there: the scenario only checks the client_id.
const conformanceCIMDURL = "https://conformance-test.local/client-metadata.json"

// conformanceContext is the part of MCP_CONFORMANCE_CONTEXT that the
// scenarios we run use: auth/pre-registration's client credentials.
type conformanceContext struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// runConformanceClient is the hidden `mcp-test-mcp conformance-client [check
// flags] URL`, the client that make conformance hands the official MCP
// conformance suite. The suite appends the scenario's server URL and names
// the scenario in MCP_CONFORMANCE_SCENARIO (and its data in
// MCP_CONFORMANCE_CONTEXT, JSON); this adds the check flags that scenario
// needs and runs check.
func runConformanceClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	checkArgs, shown, err := conformanceArgs(os.Getenv("MCP_CONFORMANCE_SCENARIO"), os.Getenv("MCP_CONFORMANCE_CONTEXT"), args)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mcp-test-mcp check %s\n", strings.Join(shown, " "))
	return runCheck(ctx, checkArgs, stdout, stderr)
}

// conformanceArgs returns check's arguments for scenario: args with the
// scenario's flags inserted before the last one (the server URL), and the
// same with the client secret masked, to show.
//
// Every auth/ scenario gets --oauth --oauth-auto-approve (the suite's
// authorization servers redirect at once); client credentials in the
// context become a pre-registered client; auth/basic-cimd gets the client
// ID metadata document URL it checks for. Only that scenario does: others
// whose authorization server supports such documents (offline-access-scope)
// check what dynamic registration sends.
func conformanceArgs(scenario, rawContext string, args []string) (checkArgs, shown []string, err error) {
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
	if strings.HasPrefix(scenario, "auth/") {
		extra = append(extra, "--oauth", "--oauth-auto-approve")
		if scenario == "auth/basic-cimd" {
			extra = append(extra, "--oauth-client-metadata-url", conformanceCIMDURL)
		}
		masked = slices.Clone(extra)
		if cc.ClientID != "" {
			extra = append(extra, "--oauth-client-id", cc.ClientID)
			masked = append(masked, "--oauth-client-id", cc.ClientID)
			if cc.ClientSecret != "" {
				extra = append(extra, "--oauth-client-secret", cc.ClientSecret)
				masked = append(masked, "--oauth-client-secret", "***")
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
