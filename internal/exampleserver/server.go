//lint:file-ignore SA1019 the example target deliberately exercises deprecated logging and sampling features.

package exampleserver

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Identity of the example server, as reported in initialize.
const (
	ServerName    = "mcp-test-mcp-example"
	ServerVersion = "1.0.0"
)

// ProtocolVersions returns the protocol versions the example server
// negotiates: the initialize-handshake versions, newest first. The go-sdk
// does not export names for them.
func ProtocolVersions() []string {
	return []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}
}

// defaultLogLevel is the level a session starts with, so that log
// notifications reach clients that never send logging/setLevel (the SDK
// otherwise drops them, and the spec lets the server choose).
const defaultLogLevel mcp.LoggingLevel = "debug"

//go:embed instructions.md
var instructions string

// target holds what the tool handlers need. Its fields are set before the
// server starts and not changed afterwards.
type target struct {
	mode   Mode
	stderr io.Writer      // safe for concurrent use
	exit   func(code int) // ends the process (or, in tests, the run)
	stdin  *stopReader    // nil unless serving stdio
}

// NewServer returns the example server for the given mode, ready to be run on
// any transport (for example mcp.NewInMemoryTransports in tests). Process
// level behaviour of the mode (exiting before initialize, ignoring SIGTERM,
// junk on stdout, the startup stderr flood) happens only in [Run]. stderr nil
// means io.Discard; exit nil means os.Exit. The stop_reading tool has no
// effect on a server made by NewServer.
func NewServer(mode Mode, stderr io.Writer, exit func(code int)) (*mcp.Server, error) {
	if mode == "" {
		mode = ModeNormal
	}
	if err := checkMode(mode); err != nil {
		return nil, err
	}
	if stderr == nil {
		stderr = io.Discard
	}
	if exit == nil {
		exit = os.Exit
	}
	t := &target{mode: mode, stderr: &lockedWriter{w: stderr}, exit: exit}
	return t.newServer(), nil
}

func (t *target) newServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{
		Name:    ServerName,
		Title:   "mcp-test-mcp example server",
		Version: ServerVersion,
	}, &mcp.ServerOptions{
		Instructions:              instructions,
		SupportedProtocolVersions: ProtocolVersions(),
		CompletionHandler:         complete,
	})
	s.AddReceivingMiddleware(t.recoverPanics, setDefaultLogLevel, t.faults)
	t.addTools(s)
	addResources(s)
	addPrompts(s)
	return s
}

// logf writes one line to stderr.
func (t *target) logf(format string, args ...any) {
	fmt.Fprintf(t.stderr, format+"\n", args...)
}

// recoverPanics turns a handler panic into a JSON-RPC internal error: the SDK
// never recovers them, and one would take the whole server down.
func (t *target) recoverPanics(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (res mcp.Result, err error) {
		defer func() {
			if r := recover(); r != nil {
				t.logf("panic handling %s: %v\n%s", method, r, debug.Stack())
				res, err = nil, &jsonrpc.Error{
					Code:    jsonrpc.CodeInternalError,
					Message: fmt.Sprintf("internal error: %s handler panicked: %v", method, r),
				}
			}
		}()
		return next(ctx, method, req)
	}
}

// setDefaultLogLevel sets the session's log level right after initialize;
// a later logging/setLevel from the client overrides it.
func setDefaultLogLevel(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if method != "initialize" || err != nil {
			return res, err
		}
		if ss, ok := req.GetSession().(*mcp.ServerSession); ok {
			// initialize is handled before any later message, so this cannot
			// override a level the client has already set.
			_, _ = next(ctx, "logging/setLevel", &mcp.ServerRequest[*mcp.SetLoggingLevelParams]{
				Session: ss,
				Params:  &mcp.SetLoggingLevelParams{Level: defaultLogLevel},
			})
		}
		return res, err
	}
}

// faults implements the per-call misbehaviour of the fault modes.
func (t *target) faults(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if method != "tools/call" {
			return next(ctx, method, req)
		}
		switch t.mode {
		case ModeCrashOnCall:
			t.logf("crash: tools/call received, exiting")
			t.exit(2)
			return nil, errExited
		case ModeHangOnCall:
			if r, ok := req.(*mcp.CallToolRequest); ok && r.Params.Name == "echo" {
				break
			}
			return nil, t.hang(ctx, req.GetSession())
		case ModeStderrFlood:
			floodCall(t.stderr)
		}
		return next(ctx, method, req)
	}
}

// errExited answers a request whose handler "exited" through an Exit func
// that returned, as in tests; a real process is gone by then.
var errExited = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "server exited"}

// hang blocks until ctx is done, then says why on stderr. It first sends a
// log notification, so that a client can tell the call has started.
//
// "hang: cancelled by client" means notifications/cancelled arrived: the SDK
// cancels the request with no cause then, and with the read error (such as
// io.EOF) when the connection goes away.
func (t *target) hang(ctx context.Context, session mcp.Session) error {
	if ss, ok := session.(*mcp.ServerSession); ok {
		_ = ss.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Logger: "hang", Data: "hanging until cancelled"})
	}
	<-ctx.Done()
	if cause := context.Cause(ctx); cause == context.Canceled {
		t.logf("hang: cancelled by client")
	} else {
		t.logf("hang: connection closed (%v)", cause)
	}
	return ctx.Err()
}

// logoPNG is a real 16×16 PNG, served by tiny_image and example://logo.png.
var logoPNG = sync.OnceValue(func() []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for y := range 16 {
		for x := range 16 {
			c := color.NRGBA{R: 0x1e, G: 0x88, B: 0xe5, A: 0xff}
			if (x/4+y/4)%2 == 0 {
				c = color.NRGBA{R: 0xff, G: 0xc1, B: 0x07, A: 0xff}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // encoding an in-memory image cannot fail
	}
	return buf.Bytes()
})

const readme = `# mcp-test-mcp example server

A predictable MCP server for testing clients. See the tools list for what each
tool does; ` + "`example://items/{id}`" + ` serves any item id.
`

func addResources(s *mcp.Server) {
	s.AddResource(&mcp.Resource{
		URI:         "example://readme",
		Name:        "readme",
		Title:       "Read me",
		Description: "What this server is for",
		MIMEType:    "text/markdown",
	}, func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{
			{URI: req.Params.URI, MIMEType: "text/markdown", Text: readme},
		}}, nil
	})
	s.AddResource(&mcp.Resource{
		URI:         "example://logo.png",
		Name:        "logo",
		Description: "A 16×16 PNG (binary blob)",
		MIMEType:    "image/png",
		Size:        int64(len(logoPNG())),
	}, func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{
			{URI: req.Params.URI, MIMEType: "image/png", Blob: logoPNG()},
		}}, nil
	})
	s.AddResourceTemplate(&mcp.ResourceTemplate{
		URITemplate: "example://items/{id}",
		Name:        "item",
		Description: "An item by id",
		MIMEType:    "text/plain",
	}, func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		id, ok := strings.CutPrefix(req.Params.URI, "example://items/")
		if !ok || id == "" || strings.Contains(id, "/") {
			return nil, mcp.ResourceNotFoundError(req.Params.URI)
		}
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{
			{URI: req.Params.URI, MIMEType: "text/plain", Text: "Item " + id},
		}}, nil
	})
}

// greetStyles are the values of the greet prompt's style argument.
var greetStyles = []string{"casual", "formal", "pirate"}

func addPrompts(s *mcp.Server) {
	s.AddPrompt(&mcp.Prompt{
		Name:        "greet",
		Title:       "Greeting",
		Description: "Greets someone",
		Arguments: []*mcp.PromptArgument{
			{Name: "name", Description: "who to greet", Required: true},
			{Name: "style", Description: "one of " + strings.Join(greetStyles, ", ") + " (default casual)"},
		},
	}, func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		name := req.Params.Arguments["name"]
		if name == "" {
			return nil, invalidParams(`missing required argument "name"`)
		}
		var text string
		switch style := req.Params.Arguments["style"]; style {
		case "", "casual":
			text = "Say hi to " + name + "."
		case "formal":
			text = "Write a formal greeting addressed to " + name + "."
		case "pirate":
			text = "Greet " + name + " the way a pirate would."
		default:
			return nil, invalidParams(fmt.Sprintf("unknown style %q (valid styles: %s)", style, strings.Join(greetStyles, ", ")))
		}
		return &mcp.GetPromptResult{
			Description: "A greeting for " + name,
			Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}},
		}, nil
	})
	s.AddPrompt(&mcp.Prompt{
		Name:        "summarize",
		Description: "Asks for a summary of a text",
		Arguments:   []*mcp.PromptArgument{{Name: "text", Description: "the text to summarize", Required: true}},
	}, func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		text := req.Params.Arguments["text"]
		if text == "" {
			return nil, invalidParams(`missing required argument "text"`)
		}
		return &mcp.GetPromptResult{
			Messages: []*mcp.PromptMessage{{
				Role:    "user",
				Content: &mcp.TextContent{Text: "Please summarize the following text:\n\n" + text},
			}},
		}, nil
	})
}

// complete offers completions for the greet prompt's style argument.
func complete(_ context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	values := []string{}
	p := req.Params
	if p.Ref != nil && p.Ref.Type == "ref/prompt" && p.Ref.Name == "greet" && p.Argument.Name == "style" {
		for _, s := range greetStyles {
			if strings.HasPrefix(s, p.Argument.Value) {
				values = append(values, s)
			}
		}
	}
	return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{
		Values: values,
		Total:  len(values),
	}}, nil
}

func invalidParams(msg string) error {
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: msg}
}
