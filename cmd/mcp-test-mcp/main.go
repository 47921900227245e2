// Command mcp-test-mcp is an MCP server that tests other MCP servers: an
// agent calls its tools to connect to a server under development, list and
// call its tools, and see exactly what came back.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcp-test-mcp:", err)
		os.Exit(exitCode(err))
	}
}
