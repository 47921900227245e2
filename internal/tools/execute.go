//lint:file-ignore SA1019 sampling is deprecated from protocol 2026-07-28 on, but the tester offers only earlier versions, where hosts support it.

package tools

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/llm"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
)

// defaultExecuteMaxTokens is max_tokens when execute_prompt is given none.
const defaultExecuteMaxTokens = 1024

// Providers of execute_prompt's LLM.
const (
	providerHost   = "host"
	providerOpenAI = "openai-compatible"
)

// ExecutePromptInput is the arguments of execute_prompt.
type ExecutePromptInput struct {
	Name           string         `json:"name" jsonschema:"the prompt to render, as listed by list_prompts"`
	Arguments      any            `json:"arguments,omitempty" jsonschema:"the prompt's arguments: an object of strings (a string holding a JSON object is accepted too)"`
	FillVariables  map[string]any `json:"fill_variables,omitempty" jsonschema:"after rendering, replace each {name} placeholder in the messages' text with this value, e.g. {\"language\": \"French\"}"`
	MaxTokens      *int           `json:"max_tokens,omitempty" jsonschema:"the most tokens the LLM may answer with; default 1024"`
	TimeoutSeconds *float64       `json:"timeout_seconds,omitempty" jsonschema:"deadline of the LLM's answer in seconds; default 120"`
}

// ExecutePromptOutput is the result of execute_prompt.
type ExecutePromptOutput struct {
	Result
	Prompt     *ExecutedPrompt       `json:"prompt,omitempty" jsonschema:"the rendered prompt, as sent to the LLM"`
	LLM        *ExecutePromptLLM     `json:"llm,omitempty" jsonschema:"the LLM's answer"`
	ParsedJSON any                   `json:"parsed_json" jsonschema:"JSON found in the reply (a json code block, or the first balanced {...} or [...] that parses), or null"`
	Execution  *ExecutePromptTiming  `json:"execution,omitempty"`
	Metadata   ExecutePromptMetadata `json:"metadata"`
}

// ExecutedPrompt is a rendered prompt.
type ExecutedPrompt struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty" jsonschema:"the description in the rendered result"`
	Arguments   map[string]string `json:"arguments" jsonschema:"the arguments sent; values of secret-looking names are shown as ***"`
	Messages    []ExecutedMessage `json:"messages" jsonschema:"the rendered messages, after fill_variables"`
	// FilledVariables are the fill_variables names found in the text.
	FilledVariables []string `json:"filled_variables" jsonschema:"the fill_variables that were found and replaced"`
	// UnfilledPlaceholders are {name} placeholders left in the text.
	UnfilledPlaceholders []string `json:"unfilled_placeholders" jsonschema:"{name} placeholders still in the text after filling"`
}

// ExecutedMessage is a prompt message in wire form.
type ExecutedMessage struct {
	Role    string `json:"role"`
	Content any    `json:"content" jsonschema:"the content block in wire form"`
}

// ExecutePromptLLM is the LLM's answer.
type ExecutePromptLLM struct {
	Provider     string          `json:"provider" jsonschema:"host (the host's model, through MCP sampling) or openai-compatible (LLM_URL)"`
	Model        string          `json:"model" jsonschema:"the model that answered, as it named itself"`
	Endpoint     string          `json:"endpoint,omitempty" jsonschema:"the chat-completions URL (openai-compatible only)"`
	Reply        string          `json:"reply" jsonschema:"the reply's text"`
	StopReason   string          `json:"stop_reason,omitempty" jsonschema:"why the host's model stopped (host only)"`
	FinishReason string          `json:"finish_reason,omitempty" jsonschema:"why the model stopped (openai-compatible only)"`
	Usage        json.RawMessage `json:"usage,omitempty" jsonschema:"the endpoint's token usage, if it sent one"`
}

// ExecutePromptTiming times execute_prompt's steps.
type ExecutePromptTiming struct {
	StartedAt   string  `json:"started_at" jsonschema:"RFC 3339, UTC"`
	CompletedAt string  `json:"completed_at" jsonschema:"RFC 3339, UTC"`
	DurationMS  float64 `json:"duration_ms"`
	PromptMS    float64 `json:"prompt_ms" jsonschema:"time spent rendering the prompt (prompts/get)"`
	LLMMS       float64 `json:"llm_ms" jsonschema:"time spent waiting for the LLM"`
}

// ExecutePromptMetadata is execute_prompt's metadata.
type ExecutePromptMetadata struct {
	Metadata
	ServerURL string `json:"server_url,omitempty"`
}

func (o *ExecutePromptOutput) metadata() *Metadata { return &o.Metadata.Metadata }

// executePromptTool returns execute_prompt's definition. It also records
// LLM_API_KEY as a secret, so that no output ever shows it, even one where
// a target that inherited the environment echoes it.
func (h *handlers) executePromptTool() *mcp.Tool {
	h.addLLMSecrets()
	in := schemaFor[ExecutePromptInput]()
	in.Properties["arguments"].Types = []string{"object", "string"}
	in.Properties["max_tokens"].Minimum = jsonschema.Ptr(1.0)
	in.Properties["timeout_seconds"].ExclusiveMinimum = jsonschema.Ptr(0.0)
	return &mcp.Tool{
		Name:  "execute_prompt",
		Title: "Render a prompt and run it through an LLM",
		Description: `Render one of the server's prompts (prompts/get) and send its messages to an LLM, to see what the prompt really produces. The LLM is your host's own model, through MCP sampling, when the host supports it; otherwise an OpenAI-compatible endpoint set by LLM_URL, LLM_MODEL_NAME and LLM_API_KEY in the tester's environment.

Use fill_variables to replace {name} placeholders left in the rendered text. Returns the rendered messages, the reply, and parsed_json: JSON found in the reply (a json code block or the first {...} or [...]), handy for prompts that ask for structured output. Use get_prompt to only render a prompt.`,
		InputSchema: in,
		Annotations: &mcp.ToolAnnotations{OpenWorldHint: jsonschema.Ptr(true)},
	}
}

// addLLMSecrets records the LLM endpoint's secrets: the API key and URL
// user-info or secret-looking query values.
func (h *handlers) addLLMSecrets() {
	h.secrets.Add(os.Getenv(llm.EnvAPIKey))
	h.secrets.Add(redact.URLSecrets(os.Getenv(llm.EnvURL))...)
}

func (h *handlers) executePrompt(ctx context.Context, req *mcp.CallToolRequest, in *ExecutePromptInput) *ExecutePromptOutput {
	out := &ExecutePromptOutput{}
	h.addLLMSecrets()
	args, err := in.check()
	if err != nil {
		out.fail(classify(err, errtype.Args))
		return out
	}
	maxTokens := defaultExecuteMaxTokens
	if in.MaxTokens != nil {
		maxTokens = *in.MaxTokens
	}
	llmTimeout := llm.DefaultTimeout
	if in.TimeoutSeconds != nil {
		llmTimeout, _ = seconds("timeout_seconds", in.TimeoutSeconds)
	}

	// Choose the LLM before sending anything to the target.
	var (
		host   *mcp.ServerSession
		client *llm.Client
	)
	if req != nil && req.Session != nil {
		if p := req.Session.InitializeParams(); p != nil && p.Capabilities != nil && p.Capabilities.Sampling != nil {
			host = req.Session
		}
	}
	if host == nil {
		client, err = llm.FromEnv()
		if err != nil {
			out.fail(&ErrorInfo{
				Type:    errtype.CapabilityMissing,
				Message: "No LLM to run the prompt: the host does not support sampling, and LLM_URL is not set.",
				Suggestion: "Use a host that supports MCP sampling, or start mcp-test-mcp with LLM_URL (an OpenAI-compatible base URL such as http://localhost:11434/v1), " +
					"LLM_MODEL_NAME and, if needed, LLM_API_KEY. To only render the prompt, call get_prompt.",
			})
			return out
		}
		client.Timeout = llmTimeout
	}

	start := time.Now()
	h.notify(ctx, req, "info", "Rendering prompt %s", in.Name)
	pr, _, ok := send(ctx, h, req, &out.Result, "", nil, func() (*connmgr.PromptResult, error) { return h.mgr.GetPrompt(ctx, in.Name, args, 0) })
	promptDone := time.Now()
	out.Metadata.ServerURL, _ = connState(h.mgr)
	if !ok {
		return out
	}
	prompt := &ExecutedPrompt{
		Name:                 in.Name,
		Description:          pr.Result.Description,
		Arguments:            redactPromptArgs(args),
		FilledVariables:      []string{},
		UnfilledPlaceholders: []string{},
	}
	msgs, filled := fillPromptVariables(pr.Result.Messages, in.FillVariables)
	prompt.FilledVariables = nonNil(filled)
	prompt.UnfilledPlaceholders = nonNil(placeholdersIn(msgs))
	cut := cutter{maxText: h.maxText, maxBinary: maxBinaryBytes}
	prompt.Messages = make([]ExecutedMessage, 0, len(msgs))
	for _, m := range msgs {
		prompt.Messages = append(prompt.Messages, ExecutedMessage{Role: string(m.Role), Content: cut.block(m.Content)})
	}
	out.Prompt = prompt

	llmCtx, cancel := context.WithTimeout(ctx, llmTimeout)
	defer cancel()
	var answer *ExecutePromptLLM
	if host != nil {
		h.notify(ctx, req, "info", "Asking the host's model to run prompt %s", in.Name)
		answer, err = sampleWithHost(llmCtx, host, msgs, maxTokens)
	} else {
		h.notify(ctx, req, "info", "Asking %s to run prompt %s", redact.URL(client.Endpoint()), in.Name)
		answer, err = completeWithEndpoint(llmCtx, client, msgs, maxTokens)
	}
	end := time.Now()
	out.Execution = &ExecutePromptTiming{
		StartedAt:   timestamp(start),
		CompletedAt: timestamp(end),
		DurationMS:  roundMS(end.Sub(start)),
		PromptMS:    roundMS(promptDone.Sub(start)),
		LLMMS:       roundMS(end.Sub(promptDone)),
	}
	if err != nil {
		out.fail(h.llmError(err, host != nil, llmTimeout))
		return out
	}
	out.LLM = answer
	out.ParsedJSON = findJSON(answer.Reply)
	out.Success = true
	via := "the host's model (sampling)"
	if host == nil {
		via = "the OpenAI-compatible endpoint"
	}
	out.Message = fmt.Sprintf("Ran prompt %s (%d %s) through %s %s in %s", in.Name, len(msgs), plural(len(msgs), "message", "messages"),
		via, orDefault(answer.Model, "(unnamed model)"), formatMS(end.Sub(promptDone)))
	if out.ParsedJSON != nil {
		out.Message += "; the reply holds JSON (parsed_json)."
	} else {
		out.Message += "; the reply holds no JSON."
	}
	if n := len(prompt.UnfilledPlaceholders); n > 0 {
		out.Message += fmt.Sprintf(" %d {placeholder}s were left unfilled: %s.", n, strings.Join(prompt.UnfilledPlaceholders, ", "))
	}
	return out
}

// check checks the arguments and returns the prompt's arguments as strings.
func (in *ExecutePromptInput) check() (map[string]string, error) {
	if strings.TrimSpace(in.Name) == "" {
		return nil, &errtype.ArgError{
			Msg:        "execute_prompt needs the name of the prompt to run",
			Suggestion: "Call list_prompts to see the available prompts, then pass one as name.",
		}
	}
	if in.MaxTokens != nil && *in.MaxTokens < 1 {
		return nil, &errtype.ArgError{Msg: fmt.Sprintf("max_tokens must be at least 1, not %d", *in.MaxTokens), Suggestion: "Pass a positive max_tokens, or leave it out for 1024."}
	}
	if _, err := seconds("timeout_seconds", in.TimeoutSeconds); err != nil {
		return nil, err
	}
	return stringArguments(in.Arguments)
}

// textOf is v as placeholder text: a string as is, anything else as JSON.
func textOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func orDefault(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// redactPromptArgs masks the values of secret-looking argument names.
func redactPromptArgs(args map[string]string) map[string]string {
	out := make(map[string]string, len(args))
	for k, v := range args {
		if redact.IsSecretName(k) {
			v = "***"
		}
		out[k] = v
	}
	return out
}

// placeholderRE matches a {name} placeholder.
var placeholderRE = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_.-]*)\}`)

// fillPromptVariables returns copies of msgs with each {name} in their text
// replaced by vars[name], and the names that were found.
func fillPromptVariables(msgs []*mcp.PromptMessage, vars map[string]any) ([]*mcp.PromptMessage, []string) {
	found := map[string]bool{}
	fill := func(s string) string {
		if len(vars) == 0 {
			return s
		}
		return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
			name := m[1 : len(m)-1]
			v, ok := vars[name]
			if !ok {
				return m
			}
			found[name] = true
			return textOf(v)
		})
	}
	out := make([]*mcp.PromptMessage, 0, len(msgs))
	for _, m := range msgs {
		if m == nil {
			continue
		}
		cp := *m
		switch c := m.Content.(type) {
		case *mcp.TextContent:
			tc := *c
			tc.Text = fill(c.Text)
			cp.Content = &tc
		case *mcp.EmbeddedResource:
			if c.Resource != nil && c.Resource.Text != "" {
				rc := *c.Resource
				rc.Text = fill(rc.Text)
				ec := *c
				ec.Resource = &rc
				cp.Content = &ec
			}
		}
		out = append(out, &cp)
	}
	return out, slices.Sorted(maps.Keys(found))
}

// placeholdersIn lists the distinct {name} placeholders in msgs' text.
func placeholdersIn(msgs []*mcp.PromptMessage) []string {
	seen := map[string]bool{}
	for _, m := range msgs {
		if text, ok := messageText(m.Content); ok {
			for _, sm := range placeholderRE.FindAllStringSubmatch(text, -1) {
				seen[sm[1]] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// messageText is the text a content block gives an LLM, and whether it is
// text at all.
func messageText(c mcp.Content) (string, bool) {
	switch c := c.(type) {
	case *mcp.TextContent:
		return c.Text, true
	case *mcp.EmbeddedResource:
		if c.Resource != nil && c.Resource.Text != "" {
			return fmt.Sprintf("[resource %s]\n%s", c.Resource.URI, c.Resource.Text), true
		}
		if c.Resource != nil {
			return fmt.Sprintf("[binary resource %s (%s)]", c.Resource.URI, c.Resource.MIMEType), true
		}
	case *mcp.ResourceLink:
		return fmt.Sprintf("[resource link %s: %s]", c.URI, c.Name), true
	}
	return "", false
}

// sampleWithHost asks the host's model, through sampling/createMessage.
func sampleWithHost(ctx context.Context, host *mcp.ServerSession, msgs []*mcp.PromptMessage, maxTokens int) (*ExecutePromptLLM, error) {
	params := &mcp.CreateMessageParams{MaxTokens: int64(maxTokens), Messages: make([]*mcp.SamplingMessage, 0, len(msgs))}
	for _, m := range msgs {
		var c mcp.Content
		switch mc := m.Content.(type) {
		case *mcp.TextContent, *mcp.ImageContent, *mcp.AudioContent:
			c = mc
		default:
			text, _ := messageText(mc)
			c = &mcp.TextContent{Text: text}
		}
		params.Messages = append(params.Messages, &mcp.SamplingMessage{Role: m.Role, Content: c})
	}
	res, err := host.CreateMessage(ctx, params)
	if err != nil {
		return nil, err
	}
	reply, _ := messageText(res.Content)
	if reply == "" && res.Content != nil {
		b, _ := json.Marshal(res.Content)
		reply = string(b)
	}
	return &ExecutePromptLLM{Provider: providerHost, Model: res.Model, Reply: reply, StopReason: res.StopReason}, nil
}

// completeWithEndpoint asks the OpenAI-compatible endpoint.
func completeWithEndpoint(ctx context.Context, client *llm.Client, msgs []*mcp.PromptMessage, maxTokens int) (*ExecutePromptLLM, error) {
	chat := make([]llm.Message, 0, len(msgs))
	for _, m := range msgs {
		var content any
		switch c := m.Content.(type) {
		case *mcp.ImageContent:
			content = []map[string]any{{
				"type":      "image_url",
				"image_url": map[string]string{"url": "data:" + c.MIMEType + ";base64," + base64.StdEncoding.EncodeToString(c.Data)},
			}}
		case *mcp.AudioContent:
			content = fmt.Sprintf("[audio (%s) omitted]", c.MIMEType)
		default:
			content, _ = messageText(c)
		}
		chat = append(chat, llm.Message{Role: string(m.Role), Content: content})
	}
	r, err := client.Complete(ctx, chat, maxTokens)
	if err != nil {
		return nil, err
	}
	return &ExecutePromptLLM{
		Provider:     providerOpenAI,
		Model:        orDefault(r.Model, client.Model),
		Endpoint:     redact.URL(client.Endpoint()),
		Reply:        r.Text,
		FinishReason: r.FinishReason,
		Usage:        r.Usage,
	}, nil
}

// llmError maps a failure of the LLM step to the envelope's error.
func (h *handlers) llmError(err error, viaHost bool, timeout time.Duration) *ErrorInfo {
	msg := h.secrets.Scrub(err.Error())
	if errors.Is(err, context.DeadlineExceeded) {
		return &ErrorInfo{
			Type:       errtype.Timeout,
			Message:    errtype.Sentence(fmt.Sprintf("The LLM did not answer within %s: %s", timeout, msg)),
			Suggestion: "Retry with a larger timeout_seconds, or a smaller max_tokens.",
			Details:    map[string]any{"timeout_seconds": round2(timeout.Seconds())},
		}
	}
	if viaHost {
		return &ErrorInfo{
			Type:       errtype.ProtocolError,
			Message:    errtype.Sentence("The host did not answer the sampling request: " + msg),
			Suggestion: "The host (or its user) may have refused the request. Approve it in the host, or start mcp-test-mcp with LLM_URL to use an OpenAI-compatible endpoint instead; prompt shows what was sent.",
		}
	}
	var he *llm.HTTPError
	if errors.As(err, &he) {
		details := map[string]any{"endpoint": redact.URL(he.URL)}
		if he.StatusCode != 0 {
			details["status_code"] = he.StatusCode
		}
		if he.ContentType != "" {
			details["content_type"] = he.ContentType
		}
		if he.BodySnippet != "" {
			details["body_snippet"] = h.secrets.Scrub(he.BodySnippet)
		}
		e := &ErrorInfo{Type: errtype.ConnectionFailed, Message: errtype.Sentence("The LLM endpoint failed: " + msg), Details: details}
		switch {
		case he.StatusCode == 401 || he.StatusCode == 403:
			e.Suggestion = "The endpoint refused the credentials: check LLM_API_KEY."
		case he.StatusCode == 404:
			e.Suggestion = "Check LLM_URL (a base such as http://localhost:11434/v1, to which /chat/completions is added) and LLM_MODEL_NAME."
		case he.StatusCode == 0:
			e.Suggestion = "Nothing answered at LLM_URL: check that the LLM server is running there."
		case he.Err != nil:
			e.Type = errtype.ProtocolError
			e.Suggestion = "The endpoint answered, but not with an OpenAI chat completion: check that LLM_URL is an OpenAI-compatible API; details.body_snippet shows what came back."
		default:
			e.Suggestion = "The endpoint failed: read details.body_snippet, check LLM_MODEL_NAME and the LLM server's logs."
		}
		return e
	}
	return &ErrorInfo{Type: errtype.InternalError, Message: errtype.Sentence(msg), Suggestion: "Retry; if it persists, check LLM_URL and the LLM server."}
}

// jsonFenceRE matches a fenced code block, with its language.
var jsonFenceRE = regexp.MustCompile("(?s)```([A-Za-z0-9_-]*)[ \t]*\r?\n(.*?)```")

// maxJSONStarts bounds how many opening brackets findJSON tries, so that a
// long reply full of brackets costs little.
const maxJSONStarts = 200

// findJSON returns the JSON value in an LLM's reply: a ```json block (or an
// untagged block that parses), else the first balanced {...} or [...] that
// parses; nil when there is none.
func findJSON(reply string) any {
	for _, m := range jsonFenceRE.FindAllStringSubmatch(reply, -1) {
		lang := strings.ToLower(m[1])
		if lang != "json" && lang != "" {
			continue
		}
		if v, ok := parseJSON(m[2]); ok {
			return v
		}
	}
	tries := 0
	for i := 0; i < len(reply) && tries < maxJSONStarts; i++ {
		if reply[i] != '{' && reply[i] != '[' {
			continue
		}
		tries++
		if end := balancedEnd(reply, i); end > 0 {
			if v, ok := parseJSON(reply[i:end]); ok {
				return v
			}
		}
	}
	return nil
}

// parseJSON parses s as one JSON object or array.
func parseJSON(s string) (any, bool) {
	s = strings.TrimSpace(s)
	if s == "" || (s[0] != '{' && s[0] != '[') {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	return v, true
}

// balancedEnd returns the index just past the bracket that closes s[start],
// skipping brackets inside strings, or -1.
func balancedEnd(s string, start int) int {
	var stack []byte
	inString := false
	for i := start; i < len(s); i++ {
		c := s[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{':
			stack = append(stack, '}')
		case '[':
			stack = append(stack, ']')
		case '}', ']':
			if len(stack) == 0 || stack[len(stack)-1] != c {
				return -1
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return i + 1
			}
		}
	}
	return -1
}
