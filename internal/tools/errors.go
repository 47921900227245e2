package tools

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
)

// ErrorType is the error.type of a failed envelope (SPEC §1).
type ErrorType string

// Error types.
const (
	ErrInvalidArguments  ErrorType = "invalid_arguments"
	ErrNotConnected      ErrorType = "not_connected"
	ErrConnectionFailed  ErrorType = "connection_failed"
	ErrConnectionLost    ErrorType = "connection_lost"
	ErrTimeout           ErrorType = "timeout"
	ErrToolNotFound      ErrorType = "tool_not_found"
	ErrResourceNotFound  ErrorType = "resource_not_found"
	ErrPromptNotFound    ErrorType = "prompt_not_found"
	ErrToolError         ErrorType = "tool_error"
	ErrProtocolError     ErrorType = "protocol_error"
	ErrCapabilityMissing ErrorType = "capability_missing"
	ErrInternalError     ErrorType = "internal_error"
)

var errorTypes = []ErrorType{
	ErrInvalidArguments, ErrNotConnected, ErrConnectionFailed, ErrConnectionLost,
	ErrTimeout, ErrToolNotFound, ErrResourceNotFound, ErrPromptNotFound,
	ErrToolError, ErrProtocolError, ErrCapabilityMissing, ErrInternalError,
}

// argError is a problem with a tool's arguments found by the tester itself.
type argError struct {
	msg        string
	suggestion string
}

func (e *argError) Error() string { return e.msg }

// op says what the tester was doing when an error happened, which decides
// how some errors are classified (a process exit while connecting is a
// failed connection, during a call a lost one).
type op int

const (
	opArgs op = iota
	opConnect
	opRequest
)

// classify maps an error from decoding arguments or from the connmgr to the
// envelope's error. It branches on error types only, never on messages.
func classify(err error, during op) *ErrorInfo {
	var (
		argErr     *argError
		spawnErr   *connmgr.SpawnError
		exitErr    *connmgr.ExitError
		lostErr    *connmgr.LostError
		httpErr    *connmgr.HTTPError
		timeoutErr *connmgr.TimeoutError
		notFound   *connmgr.ToolNotFoundError
		rpcErr     *connmgr.RPCError
		tooLarge   *connmgr.MessageTooLargeError
		protoErr   *connmgr.ProtocolError
		capErr     *connmgr.CapabilityError
		resErr     *connmgr.ResourceNotFoundError
		promptErr  *connmgr.PromptNotFoundError
		missingErr *connmgr.MissingArgumentsError
	)
	switch {
	case errors.As(err, &argErr):
		sugg := argErr.suggestion
		if sugg == "" {
			sugg = "Fix the arguments and call the tool again."
		}
		return &ErrorInfo{Type: ErrInvalidArguments, Message: sentence(argErr.msg), Suggestion: sugg}

	case errors.Is(err, connmgr.ErrNotConnected):
		return &ErrorInfo{
			Type:       ErrNotConnected,
			Message:    "Not connected to an MCP server.",
			Suggestion: `Call connect first, for example connect {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]} or connect {"url": "http://localhost:3000/mcp"}.`,
		}

	case errors.Is(err, connmgr.ErrRefused):
		return &ErrorInfo{
			Type:       ErrInvalidArguments,
			Message:    sentence(err.Error()),
			Suggestion: "This tester runs with a command policy (serve --allow-command or --no-stdio): use one of the allowed programs, leave code-loading variables out of env, or connect to an http(s) URL.",
		}

	case errors.Is(err, connmgr.ErrInvalidSpec):
		return &ErrorInfo{
			Type:       ErrInvalidArguments,
			Message:    sentence(err.Error()),
			Suggestion: "Fix the connect arguments: pass exactly one of url and command, and a transport that fits the target.",
		}

	case errors.As(err, &spawnErr):
		sugg := spawnErr.Hint
		if sugg == "" {
			sugg = "Check that the command exists (on PATH, or give its full path), that it is executable, and that cwd exists."
		}
		return &ErrorInfo{
			Type:       ErrConnectionFailed,
			Message:    sentence(err.Error()),
			Suggestion: sugg,
			Details:    map[string]any{"command": spawnErr.Command, "os_error": errString(spawnErr.Err)},
		}

	case errors.As(err, &exitErr):
		details := map[string]any{
			"exit_code":   exitErr.Exit.Code,
			"stderr_tail": exitErr.Exit.StderrTail,
			"during":      exitErr.During,
		}
		if exitErr.Exit.Signal != "" {
			details["signal"] = exitErr.Exit.Signal
		}
		if during == opConnect || exitErr.During == "initialize" {
			return &ErrorInfo{
				Type:       ErrConnectionFailed,
				Message:    sentence(err.Error()),
				Suggestion: "The target exited before it was ready: read details.stderr_tail for its own error, fix it, then call connect again.",
				Details:    details,
			}
		}
		return &ErrorInfo{
			Type:       ErrConnectionLost,
			Message:    sentence(err.Error()),
			Suggestion: "The target crashed: read details.stderr_tail, fix the server, then call connect again. status shows the ended connection.",
			Details:    details,
		}

	case errors.As(err, &timeoutErr):
		details := map[string]any{
			"method":            timeoutErr.Method,
			"timeout_seconds":   round2(timeoutErr.After.Seconds()),
			"cancel_sent":       timeoutErr.Cancelled,
			"connection_closed": timeoutErr.Lost,
		}
		sugg := "The connection is still usable: retry with a larger timeout_seconds, or check the tool for a hang."
		switch {
		case during == opConnect:
			sugg = "The target did not finish initialize in time: check that it speaks MCP on this transport (call status for its stderr), or raise timeout_seconds."
		case timeoutErr.Lost:
			sugg = "The target stopped reading our messages, so the connection was closed: call connect again."
		}
		return &ErrorInfo{Type: ErrTimeout, Message: sentence(err.Error()), Suggestion: sugg, Details: details}

	case errors.As(err, &lostErr):
		typ, sugg := ErrConnectionLost, "The connection ended: call status for the details, then connect again."
		if during == opConnect {
			typ, sugg = ErrConnectionFailed, "The connection ended before initialize finished: check the target's logs and the URL or command, then connect again."
		}
		return &ErrorInfo{Type: typ, Message: sentence(err.Error()), Suggestion: sugg, Details: map[string]any{"reason": lostErr.Reason}}

	case errors.As(err, &httpErr):
		details := map[string]any{}
		if httpErr.StatusCode != 0 {
			details["status_code"] = httpErr.StatusCode
		}
		for k, v := range map[string]string{
			"www_authenticate": httpErr.WWWAuthenticate,
			"content_type":     httpErr.ContentType,
			"body_snippet":     httpErr.BodySnippet,
		} {
			if v != "" {
				details[k] = v
			}
		}
		return &ErrorInfo{Type: ErrConnectionFailed, Message: sentence(err.Error()), Suggestion: httpSuggestion(httpErr), Details: details}

	case errors.As(err, &notFound):
		sugg := "Call list_tools to see the available tools."
		if close := closest(notFound.Name, notFound.Available, 3); len(close) > 0 {
			sugg = fmt.Sprintf("Did you mean %s? %s", orList(close), sugg)
		}
		return &ErrorInfo{
			Type:       ErrToolNotFound,
			Message:    sentence(err.Error()),
			Suggestion: sugg,
			Details:    map[string]any{"available_tools": nonNil(notFound.Available)},
		}

	case errors.As(err, &capErr):
		return &ErrorInfo{
			Type:    ErrCapabilityMissing,
			Message: sentence(err.Error()),
			Suggestion: fmt.Sprintf("The target does not offer %s: call status and read connection.capabilities for what it does declare. "+
				"If the server should support this, declare the %s capability in its initialize result.", capErr.Capability, capErr.Capability),
			Details: map[string]any{"capability": capErr.Capability, "method": capErr.Method},
		}

	case errors.As(err, &resErr):
		return &ErrorInfo{
			Type:       ErrResourceNotFound,
			Message:    sentence(err.Error()),
			Suggestion: "Call list_resources for the fixed URIs and list_resource_templates for the URI patterns the target serves.",
			Details:    map[string]any{"uri": resErr.URI, "target_message": resErr.Message},
		}

	case errors.As(err, &promptErr):
		sugg := "Call list_prompts to see the available prompts."
		if close := closest(promptErr.Name, promptErr.Available, 3); len(close) > 0 {
			sugg = fmt.Sprintf("Did you mean %s? %s", orList(close), sugg)
		}
		return &ErrorInfo{
			Type:       ErrPromptNotFound,
			Message:    sentence(err.Error()),
			Suggestion: sugg,
			Details:    map[string]any{"available_prompts": nonNil(promptErr.Available)},
		}

	case errors.As(err, &missingErr):
		return &ErrorInfo{
			Type: ErrInvalidArguments,
			Message: fmt.Sprintf("The prompt %s needs the %s %s, which %s not given; nothing was sent.", missingErr.Prompt,
				plural(len(missingErr.Missing), "argument", "arguments"), andList(missingErr.Missing), plural(len(missingErr.Missing), "was", "were")),
			Suggestion: "Pass the missing arguments in arguments (an object of strings); list_prompts shows every argument and whether it is required, and complete can suggest values.",
			Details:    map[string]any{"prompt": missingErr.Prompt, "missing_arguments": missingErr.Missing},
		}

	case errors.Is(err, connmgr.ErrRootsNotDeclared):
		return &ErrorInfo{
			Type:       ErrInvalidArguments,
			Message:    sentence(err.Error()),
			Suggestion: "Roots can only change on a connection that declared them: call connect again with roots, then set_roots.",
		}

	case errors.As(err, &rpcErr):
		details := map[string]any{"method": rpcErr.Method, "code": rpcErr.Code, "target_message": rpcErr.Message}
		if rpcErr.Code == jsonrpc.CodeInvalidParams {
			return &ErrorInfo{
				Type:       ErrInvalidArguments,
				Message:    sentence("The target rejected the arguments: " + rpcErr.Message),
				Suggestion: invalidParamsSuggestion(rpcErr.Method),
				Details:    details,
			}
		}
		return &ErrorInfo{
			Type:       ErrProtocolError,
			Message:    sentence(err.Error()),
			Suggestion: "The target answered with a JSON-RPC error: see details.code and details.target_message.",
			Details:    details,
		}

	case errors.As(err, &tooLarge):
		return &ErrorInfo{
			Type:       ErrProtocolError,
			Message:    sentence(err.Error()),
			Suggestion: "Make the tool return less, or start mcp-test-mcp with a larger MCP_TEST_MAX_MESSAGE_BYTES.",
			Details:    map[string]any{"limit_bytes": tooLarge.Limit},
		}

	case errors.As(err, &protoErr):
		return &ErrorInfo{
			Type:       ErrProtocolError,
			Message:    sentence(err.Error()),
			Suggestion: "The target broke the MCP protocol: the message says how. Fix the server and call connect again.",
		}

	default:
		return &ErrorInfo{
			Type:       ErrInternalError,
			Message:    sentence(err.Error()),
			Suggestion: "This is an unexpected failure inside mcp-test-mcp; status shows whether the connection is still up.",
		}
	}
}

func httpSuggestion(e *connmgr.HTTPError) string {
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		return "The server wants authentication: pass bearer_token, or the headers it expects (see details.www_authenticate)."
	case e.StatusCode == http.StatusNotFound:
		return "Check the URL's path: streamable HTTP servers usually serve /mcp, legacy SSE servers /sse."
	case e.StatusCode == http.StatusMethodNotAllowed:
		return "The URL does not accept MCP POSTs: check the path, or pass transport: sse for a legacy SSE server."
	case e.StatusCode >= 500:
		return "The server failed: check its logs, then connect again."
	case e.StatusCode == 0:
		return "Nothing answered: check that the server is running and listening at that host and port (and http vs https)."
	case e.StatusCode < 400:
		return "The URL answered, but not with MCP: check that it is the server's MCP endpoint."
	default:
		return "Check the URL and the transport, then connect again."
	}
}

// sentence makes s start with a capital letter, unless it starts with an
// identifier such as timeout_seconds, and end with a period.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	if first, _, _ := strings.Cut(s, " "); !strings.ContainsAny(first, "_./") {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// orList formats names as `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
func orList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// invalidParamsSuggestion says where to read the arguments a method takes.
func invalidParamsSuggestion(method string) string {
	switch method {
	case "prompts/get":
		return "Call list_prompts to read the prompt's arguments (use complete for valid values), then fix them."
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		return "Check the URI against list_resources and list_resource_templates."
	case "completion/complete":
		return "Check ref_type, name or uri and the argument name against list_prompts or list_resource_templates."
	default:
		return "Call list_tools to read the tool's input_schema, then fix the arguments."
	}
}

// andList formats names as `"a"`, `"a" and "b"`, `"a", "b" and "c"`.
func andList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
