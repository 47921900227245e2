// Package exitcode is the one table of mcp-test-mcp's exit codes: the
// command maps its errors to them and check's reports choose among them.
// README.md lists the same codes under `check` (a test in cmd/mcp-test-mcp
// keeps the two equal).
package exitcode

// Exit codes of mcp-test-mcp. The example server's own exits (its fault
// modes) pass through unchanged and are not in this table.
const (
	// OK: the command succeeded; for check, every check passed.
	OK = 0
	// Failed: a check failed (also when an interrupt then stopped the run),
	// or anything else went wrong.
	Failed = 1
	// Usage: a bad command line or environment variable, a check spec that
	// cannot be read, or a report file that could not be written.
	Usage = 2
	// CannotConnect: check could not start or reach the target.
	CannotConnect = 3
	// Interrupted: SIGINT or SIGTERM stopped a check run before any check
	// failed; 128 + SIGINT, as a shell reports a program that SIGINT ended.
	Interrupted = 130
)
