//lint:file-ignore SA1019 the demo shows the log notifications the tester sends, which hosts display on protocol versions before 2026-07-28.

// Command demo shows mcp-test-mcp at work, as `make demo-host` runs it: it starts
// the tester over stdio as a host would, points it at the example server,
// and prints what each tool answers.
//
//	go run ./internal/demo [-bin path/to/mcp-test-mcp]
//
// Without -bin it builds the tester into a temporary directory first. It
// exits non-zero when a step does not answer as expected.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// step is one tool call of the demo and what it should answer.
type step struct {
	title string
	tool  string
	args  map[string]any
	// wantError is the error.type the step should fail with; empty means
	// it should succeed.
	wantError string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "", "the mcp-test-mcp binary; empty means build it from ./cmd/mcp-test-mcp")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bin == "" {
		dir, err := os.MkdirTemp("", "mcp-test-mcp-demo")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*bin = filepath.Join(dir, "mcp-test-mcp")
		fmt.Fprintln(stderr, "building mcp-test-mcp...")
		build := exec.CommandContext(ctx, "go", "build", "-o", *bin, "./cmd/mcp-test-mcp")
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building the tester: %w", err)
		}
	}
	abs, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}

	client := mcp.NewClient(&mcp.Implementation{Name: "mcp-test-mcp-demo", Version: "0.1.0"}, &mcp.ClientOptions{
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			fmt.Fprintf(stdout, "  [%s] %v\n", req.Params.Level, req.Params.Data)
		},
	})
	tester := exec.Command(abs)
	tester.Stderr = io.Discard // the tester's own logs; stdout is the protocol
	tester.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The client default probes a protocol version newer than the tester
	// speaks; offer the one it does.
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: tester}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		return fmt.Errorf("starting the tester: %w", err)
	}
	defer cs.Close()
	if err := cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "info"}); err != nil {
		return fmt.Errorf("setting the log level: %w", err)
	}

	steps := []step{
		{title: "Connect to the example server", tool: "connect", args: map[string]any{"command": abs, "args": []string{"example-server"}}},
		{title: "List its tools (without schemas, for brevity)", tool: "list_tools", args: map[string]any{"include_schemas": false}},
		{title: "Call echo", tool: "call_tool", args: map[string]any{"name": "echo", "arguments": map[string]any{"message": "Hello from the demo"}}},
		{title: "Call add (structured output, checked against its outputSchema)", tool: "call_tool", args: map[string]any{"name": "add", "arguments": map[string]any{"a": 2, "b": 40}}},
		{title: "Call slow (progress and log notifications)", tool: "call_tool", args: map[string]any{"name": "slow", "arguments": map[string]any{"steps": 3, "delay_ms": 50}}},
		{title: "Call a tool that does not exist", tool: "call_tool", args: map[string]any{"name": "ecko"}, wantError: "tool_not_found"},
		{title: "Status", tool: "status"},
		{title: "Disconnect", tool: "disconnect"},
	}
	var failed []string
	for i, s := range steps {
		fmt.Fprintf(stdout, "\n=== %d. %s: %s %s\n", i+1, s.title, s.tool, compact(s.args))
		if err := runStep(ctx, cs, s, stdout); err != nil {
			fmt.Fprintf(stdout, "!!! %v\n", err)
			failed = append(failed, s.title)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d step(s) did not answer as expected: %q", len(failed), failed)
	}
	fmt.Fprintln(stdout, "\nAll steps answered as expected.")
	return nil
}

func runStep(ctx context.Context, cs *mcp.ClientSession, s step, stdout io.Writer) error {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: s.tool, Arguments: s.args})
	if err != nil {
		return err
	}
	if len(res.Content) != 1 {
		return fmt.Errorf("%s returned %d content blocks, want 1", s.tool, len(res.Content))
	}
	text, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		return fmt.Errorf("%s returned a %T, want text", s.tool, res.Content[0])
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(text.Text), "", "  "); err != nil {
		return fmt.Errorf("%s's text is not JSON: %w", s.tool, err)
	}
	fmt.Fprintln(stdout, pretty.String())

	var env struct {
		Success bool `json:"success"`
		Error   *struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(text.Text), &env); err != nil {
		return err
	}
	switch {
	case s.wantError == "" && !env.Success:
		return errors.New("the step failed")
	case s.wantError != "" && (env.Error == nil || env.Error.Type != s.wantError):
		return fmt.Errorf("the step should have failed with %s", s.wantError)
	}
	return nil
}

func compact(v map[string]any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
