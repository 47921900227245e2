//lint:file-ignore SA1019 the example target deliberately exercises deprecated logging and sampling features.

package exampleserver

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Defaults of tool arguments that are zero when absent.
const (
	defaultSlowSteps   = 5
	defaultSlowDelayMS = 100
	defaultCrashCode   = 2
	defaultHugeBytes   = 20_000_000
	maxHugeBytes       = 1 << 30
)

type (
	echoIn struct {
		Message string `json:"message" jsonschema:"the text to send back"`
	}
	addIn struct {
		A float64 `json:"a" jsonschema:"the first addend"`
		B float64 `json:"b" jsonschema:"the second addend"`
	}
	addOut struct {
		Sum float64 `json:"sum" jsonschema:"a + b"`
	}
	weatherIn struct {
		City string `json:"city" jsonschema:"the city to report on"`
	}
	weatherOut struct {
		City         string  `json:"city" jsonschema:"the city reported on"`
		TemperatureC float64 `json:"temperature_c" jsonschema:"air temperature in degrees Celsius"`
		Conditions   string  `json:"conditions" jsonschema:"sky conditions, such as sunny or rain"`
	}
	slowIn struct {
		Steps   int `json:"steps,omitempty" jsonschema:"number of steps; 0 or absent means 5"`
		DelayMS int `json:"delay_ms,omitempty" jsonschema:"milliseconds per step; 0 or absent means 100"`
	}
	logIn struct {
		Level   mcp.LoggingLevel `json:"level,omitempty" jsonschema:"debug, info, notice, warning, error, critical, alert or emergency; absent means info"`
		Message string           `json:"message" jsonschema:"the log message"`
	}
	failIn struct {
		Message string `json:"message,omitempty" jsonschema:"the error text to return"`
	}
	crashIn struct {
		Code int `json:"code,omitempty" jsonschema:"exit status; 0 or absent means 2"`
	}
	hugeIn struct {
		SizeBytes int `json:"size_bytes,omitempty" jsonschema:"size of the text block in bytes; 0 or absent means 20000000"`
	}
	envIn struct {
		Name string `json:"name" jsonschema:"the environment variable to read"`
	}
	sampleIn struct {
		Prompt string `json:"prompt,omitempty" jsonschema:"what to ask the client's model; absent means a fixed question"`
	}
	noIn struct{}
)

// badWeatherSchema is weatherOut's schema; bad_structured violates it.
var badWeatherSchema = json.RawMessage(`{
	"type": "object",
	"properties": {
		"city": {"type": "string"},
		"temperature_c": {"type": "number"},
		"conditions": {"type": "string"}
	},
	"required": ["city", "temperature_c", "conditions"],
	"additionalProperties": false
}`)

func (t *target) addTools(s *mcp.Server) {
	readOnly := &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true}
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Title: "Echo", Description: "Returns the message unchanged", Annotations: readOnly}, echo)
	mcp.AddTool(s, &mcp.Tool{Name: "add", Title: "Add numbers", Description: "Adds two numbers; returns the sum as text and as structured content", Annotations: readOnly}, add)
	mcp.AddTool(s, &mcp.Tool{Name: "get_weather", Title: "Get weather", Description: "Reports made-up weather for a city as structured content", Annotations: readOnly}, getWeather)
	mcp.AddTool(s, &mcp.Tool{Name: "tiny_image", Description: "Returns a 16×16 PNG image block and a text block"}, tinyImage)
	mcp.AddTool(s, &mcp.Tool{Name: "slow", Title: "Slow task", Description: "Takes steps × delay_ms, sending a progress and a log notification per step"}, slow)
	mcp.AddTool(s, &mcp.Tool{Name: "log", Description: "Sends one log notification"}, sendLog)
	mcp.AddTool(s, &mcp.Tool{Name: "headers", Description: "Returns the HTTP request headers of this call as JSON (streamable HTTP only; {} over stdio and legacy SSE)"}, headers)
	mcp.AddTool(s, &mcp.Tool{Name: "sample", Description: "Asks the client's model (sampling/createMessage) and returns its answer"}, sample)
	if t.mode != ModeNormal {
		t.addFaultTools(s)
	}
	mcp.AddTool(s, &mcp.Tool{
		Name:        "destructive_reset",
		Title:       "Reset everything",
		Description: "Claims to reset all data (annotated destructive; actually does nothing)",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: new(true)},
	}, destructiveReset)
}

// FaultTools are the tools that misbehave on purpose: every mode but
// ModeNormal has them, so that the default server is a correct one.
var FaultTools = []string{"bad_structured", "fail", "hang", "crash", "huge", "env", "stop_reading"}

func (t *target) addFaultTools(s *mcp.Server) {
	s.AddTool(&mcp.Tool{
		Name:         "bad_structured",
		Description:  "Returns structured content that violates its own output schema (temperature_c is a string)",
		InputSchema:  json.RawMessage(`{"type":"object"}`),
		OutputSchema: badWeatherSchema,
	}, badStructured)
	mcp.AddTool(s, &mcp.Tool{Name: "fail", Description: "Returns an error result (isError: true) with the message"}, fail)
	mcp.AddTool(s, &mcp.Tool{Name: "hang", Description: "Logs that it started, then never returns until the client cancels the call"}, t.hangTool)
	mcp.AddTool(s, &mcp.Tool{Name: "crash", Description: "Ends the server process with the given exit status"}, t.crash)
	mcp.AddTool(s, &mcp.Tool{Name: "huge", Description: "Returns one text block of size_bytes bytes"}, huge)
	mcp.AddTool(s, &mcp.Tool{Name: "env", Description: "Returns the value of an environment variable of the server process"}, env)
	mcp.AddTool(s, &mcp.Tool{Name: "stop_reading", Description: "Answers, then stops reading stdin forever while staying alive (stdio only)"}, t.stopReading)
}

func textResult(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
}

func echo(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
	return textResult(in.Message), nil, nil
}

func add(_ context.Context, _ *mcp.CallToolRequest, in addIn) (*mcp.CallToolResult, addOut, error) {
	sum := in.A + in.B
	return textResult(strconv.FormatFloat(sum, 'g', -1, 64)), addOut{Sum: sum}, nil
}

func getWeather(_ context.Context, _ *mcp.CallToolRequest, in weatherIn) (*mcp.CallToolResult, weatherOut, error) {
	conditions := []string{"sunny", "cloudy", "rain", "snow"}
	n := len(in.City)
	return nil, weatherOut{
		City:         in.City,
		TemperatureC: float64(n%20) + 0.5,
		Conditions:   conditions[n%len(conditions)],
	}, nil
}

// badStructured is a raw handler because the typed one validates output
// against the schema and would refuse to send the wrong data.
func badStructured(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	out := json.RawMessage(`{"city":"Nowhere","temperature_c":"warm","conditions":"sunny"}`)
	return &mcp.CallToolResult{
		Content:           []mcp.Content{&mcp.TextContent{Text: string(out)}},
		StructuredContent: out,
	}, nil
}

func tinyImage(context.Context, *mcp.CallToolRequest, noIn) (*mcp.CallToolResult, any, error) {
	return &mcp.CallToolResult{Content: []mcp.Content{
		&mcp.ImageContent{Data: logoPNG(), MIMEType: "image/png"},
		&mcp.TextContent{Text: "a 16×16 PNG"},
	}}, nil, nil
}

func slow(ctx context.Context, req *mcp.CallToolRequest, in slowIn) (*mcp.CallToolResult, any, error) {
	steps, delay := cmp.Or(in.Steps, defaultSlowSteps), cmp.Or(in.DelayMS, defaultSlowDelayMS)
	if steps < 0 || delay < 0 {
		return nil, nil, errors.New("steps and delay_ms must not be negative")
	}
	token := req.Params.GetProgressToken()
	timer := time.NewTimer(0)
	<-timer.C
	for i := 1; i <= steps; i++ {
		timer.Reset(time.Duration(delay) * time.Millisecond)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, nil, ctx.Err()
		case <-timer.C:
		}
		msg := fmt.Sprintf("step %d of %d", i, steps)
		if token != nil {
			// Notifications are best effort: a lost one must not fail the call.
			_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
				ProgressToken: token,
				Progress:      float64(i),
				Total:         float64(steps),
				Message:       msg,
			})
		}
		_ = req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Logger: "slow", Data: msg})
	}
	return textResult(fmt.Sprintf("done after %d steps", steps)), nil, nil
}

var logLevels = []mcp.LoggingLevel{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

func sendLog(ctx context.Context, req *mcp.CallToolRequest, in logIn) (*mcp.CallToolResult, any, error) {
	level := cmp.Or(in.Level, "info")
	if !slices.Contains(logLevels, level) {
		return nil, nil, fmt.Errorf("unknown log level %q", level)
	}
	if err := req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: level, Logger: "log", Data: in.Message}); err != nil {
		return nil, nil, fmt.Errorf("sending log notification: %w", err)
	}
	return textResult(fmt.Sprintf("logged at level %s", level)), nil, nil
}

func fail(_ context.Context, _ *mcp.CallToolRequest, in failIn) (*mcp.CallToolResult, any, error) {
	return nil, nil, errors.New(cmp.Or(in.Message, "the tool failed as asked"))
}

func (t *target) hangTool(ctx context.Context, req *mcp.CallToolRequest, _ noIn) (*mcp.CallToolResult, any, error) {
	return nil, nil, t.hang(ctx, req.Session)
}

func (t *target) crash(_ context.Context, _ *mcp.CallToolRequest, in crashIn) (*mcp.CallToolResult, any, error) {
	code := cmp.Or(in.Code, defaultCrashCode)
	t.logf("crash: exiting with status %d", code)
	t.exit(code)
	return nil, nil, errExited
}

func huge(_ context.Context, _ *mcp.CallToolRequest, in hugeIn) (*mcp.CallToolResult, any, error) {
	n := cmp.Or(in.SizeBytes, defaultHugeBytes)
	if n < 0 || n > maxHugeBytes {
		return nil, nil, fmt.Errorf("size_bytes must be between 1 and %d", maxHugeBytes)
	}
	const line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!\n" // 64 bytes
	text := bytes.Repeat([]byte(line), n/len(line)+1)[:n]
	return textResult(string(text)), nil, nil
}

func env(_ context.Context, _ *mcp.CallToolRequest, in envIn) (*mcp.CallToolResult, any, error) {
	v, ok := os.LookupEnv(in.Name)
	if !ok {
		return nil, nil, fmt.Errorf("environment variable %q is not set", in.Name)
	}
	return textResult(v), nil, nil
}

func headers(_ context.Context, req *mcp.CallToolRequest, _ noIn) (*mcp.CallToolResult, any, error) {
	h := http.Header{}
	if req.Extra != nil && req.Extra.Header != nil {
		h = req.Extra.Header
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding headers: %w", err)
	}
	return textResult(string(b)), nil, nil
}

func (t *target) stopReading(context.Context, *mcp.CallToolRequest, noIn) (*mcp.CallToolResult, any, error) {
	if t.stdin == nil {
		return nil, nil, errors.New("stop_reading works only over stdio")
	}
	t.stdin.stop()
	return textResult("stopped reading stdin; this server will not read another message"), nil, nil
}

func sample(ctx context.Context, req *mcp.CallToolRequest, in sampleIn) (*mcp.CallToolResult, any, error) {
	if p := req.Session.InitializeParams(); p == nil || p.Capabilities == nil || p.Capabilities.Sampling == nil {
		return nil, nil, errors.New("the client does not support sampling")
	}
	prompt := cmp.Or(in.Prompt, "Say hello in five words or fewer.")
	res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{
		Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: prompt}}},
		MaxTokens: 100,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("sampling: %w", err)
	}
	text, ok := res.Content.(*mcp.TextContent)
	if !ok {
		return nil, nil, fmt.Errorf("sampling returned %T content, want text", res.Content)
	}
	return textResult(text.Text), nil, nil
}

func destructiveReset(context.Context, *mcp.CallToolRequest, noIn) (*mcp.CallToolResult, any, error) {
	return textResult("reset complete (nothing was actually deleted)"), nil, nil
}
