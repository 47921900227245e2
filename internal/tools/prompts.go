package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/check"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/redact"
)

// ListPromptsInput is the arguments of list_prompts.
type ListPromptsInput struct {
	Filter string `json:"filter,omitempty" jsonschema:"keep only prompts whose name, title or description contains this text (case-insensitive)"`
}

// ListPromptsOutput is the result of list_prompts.
type ListPromptsOutput struct {
	Result
	Prompts  []PromptSummary     `json:"prompts,omitzero" jsonschema:"the target's prompts, in the order it listed them"`
	Metadata ListPromptsMetadata `json:"metadata"`
}

// PromptSummary is one of the target's prompts.
type PromptSummary struct {
	Name        string           `json:"name"`
	Title       string           `json:"title,omitempty"`
	Description string           `json:"description,omitempty"`
	Arguments   []PromptArgument `json:"arguments" jsonschema:"the prompt's arguments; every value passed to get_prompt is a string"`
	wireExtras
}

// promptFields are the fields of a prompt that PromptSummary shows in
// their own places.
var promptFields = []string{"name", "title", "description", "arguments", "icons", "_meta"}

// PromptArgument is an argument of a prompt. Required is always shown,
// false when the target left it out.
type PromptArgument struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required" jsonschema:"whether get_prompt must be given this argument"`
}

// ListPromptsMetadata is list_prompts' metadata.
type ListPromptsMetadata struct {
	Metadata
	TotalPrompts    *int `json:"total_prompts,omitempty" jsonschema:"how many prompts the target lists"`
	ReturnedPrompts *int `json:"returned_prompts,omitempty" jsonschema:"how many are returned after filtering"`
	ListedServer
}

func (o *ListPromptsOutput) metadata() *Metadata { return &o.Metadata.Metadata }

var listPromptsTool = &mcp.Tool{
	Name:  "list_prompts",
	Title: "List the server's prompts",
	Description: `List every prompt of the connected server (all pages), with its title, description and arguments ({name, title, description, required}; required is always true or false).

Use it before get_prompt, to see which arguments to pass. Example: {"filter": "review"}.`,
	Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: jsonschema.Ptr(true)},
}

func (h *handlers) listPrompts(ctx context.Context, _ *mcp.CallToolRequest, in *ListPromptsInput) *ListPromptsOutput {
	out := &ListPromptsOutput{}
	wire := map[string]json.RawMessage{}
	list, err := h.mgr.ListPromptsWire(ctx, wire)
	l, ok := promptLister.list(&out.Result, list, wire, err, in.Filter, h.serverInfo())
	if ok {
		out.Prompts, out.Metadata.TotalPrompts, out.Metadata.ReturnedPrompts = l.items, l.total, l.returned
		out.Metadata.ListedServer = l.server
	}
	return out
}

var promptLister = lister[*mcp.Prompt, PromptSummary]{
	one: "prompt", many: "prompts",
	fields: func(p *mcp.Prompt) []string { return []string{p.Name, p.Title, p.Description} },
	key:    func(p *mcp.Prompt) string { return p.Name },
	summary: func(p *mcp.Prompt, raw json.RawMessage) PromptSummary {
		f, other := wireFields(raw, p, promptFields)
		s := PromptSummary{Name: p.Name, Title: p.Title, Description: p.Description, Arguments: []PromptArgument{}, wireExtras: extras(f, other)}
		for _, a := range p.Arguments {
			if a != nil {
				s.Arguments = append(s.Arguments, PromptArgument{Name: a.Name, Title: a.Title, Description: a.Description, Required: a.Required})
			}
		}
		return s
	},
}

// GetPromptInput is the arguments of get_prompt.
type GetPromptInput struct {
	Name           string   `json:"name" jsonschema:"the prompt to render, as listed by list_prompts"`
	Arguments      any      `json:"arguments,omitempty" jsonschema:"the prompt's arguments: a JSON object of strings (a string holding a JSON object is accepted too)"`
	TimeoutSeconds *float64 `json:"timeout_seconds,omitempty" jsonschema:"deadline of this request in seconds; default: the connection's call_timeout_seconds"`
}

// GetPromptOutput is the result of get_prompt.
type GetPromptOutput struct {
	Result
	Prompt   *RenderedPrompt `json:"prompt,omitempty" jsonschema:"what was sent and the messages that came back; present whenever the target rendered the prompt"`
	Metadata ConnMetadata    `json:"metadata"`
}

// RenderedPrompt is a prompts/get and its answer.
type RenderedPrompt struct {
	Name        string            `json:"name"`
	Arguments   map[string]string `json:"arguments" jsonschema:"the arguments sent; values of secret-looking names are shown as ***"`
	Description string            `json:"description,omitempty" jsonschema:"the description the target returned with the messages"`
	Messages    []PromptMessage   `json:"messages"`
	wireParts
	Text string `json:"text" jsonschema:"the text of all text messages joined by newlines"`
	// TextTruncated and TextSizeBytes say that Text was cut, and from what.
	TextTruncated bool `json:"text_truncated,omitempty" jsonschema:"true when text was cut at the size limit"`
	TextSizeBytes int  `json:"text_size_bytes,omitempty" jsonschema:"the size of text before it was cut"`
}

// PromptMessage is one message of a rendered prompt.
type PromptMessage struct {
	Role    string `json:"role" jsonschema:"user or assistant"`
	Content any    `json:"content" jsonschema:"the content block as the target sent it (text, image, audio, resource or resource_link; unknown fields and exact numbers kept); text over the size limit and binary data over 64 KiB are cut, with truncated: true and size_bytes"`
	wireParts
}

// promptResultFields and promptMessageFields are the fields of a
// prompts/get result and of one of its messages that are shown in their own
// places.
var (
	promptResultFields  = []string{"description", "messages", "_meta"}
	promptMessageFields = []string{"role", "content", "_meta"}
)

func (o *GetPromptOutput) metadata() *Metadata { return &o.Metadata.Metadata }

func getPromptTool() *mcp.Tool {
	in := schemaFor[GetPromptInput]()
	in.Properties["arguments"].Types = []string{"object", "string"}
	in.Properties["arguments"].AdditionalProperties = &jsonschema.Schema{Type: "string"}
	in.Properties["timeout_seconds"].ExclusiveMinimum = jsonschema.Ptr(0.0)
	return &mcp.Tool{
		Name:  "get_prompt",
		Title: "Render one of the server's prompts",
		Description: `Render a prompt of the connected server (prompts/get) and show every message with its role and content in wire form (text, image, audio, resource, resource_link), plus the text joined.

Use it to check what a prompt produces. Example: {"name": "code_review", "arguments": {"language": "go", "code": "func f() {}"}}. Argument values are strings. Missing required arguments are refused before sending (invalid_arguments naming them); an unknown name gives prompt_not_found with the closest names.`,
		InputSchema: in,
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: jsonschema.Ptr(true)},
	}
}

func (h *handlers) getPrompt(ctx context.Context, req *mcp.CallToolRequest, in *GetPromptInput) *GetPromptOutput {
	out := &GetPromptOutput{}
	defer h.recordGetPrompt(in, out)
	timeout, err := seconds("timeout_seconds", in.TimeoutSeconds)
	var args map[string]string
	if err == nil {
		args, err = stringArguments(in.Arguments)
	}
	if err == nil && strings.TrimSpace(in.Name) == "" {
		err = &errtype.ArgError{
			Msg:        "get_prompt needs the name of the prompt to render",
			Suggestion: "Call list_prompts to see the available prompts, then pass one as name.",
		}
	}
	if err != nil {
		out.fail(classify(err, errtype.Args))
		return out
	}
	h.notify(ctx, req, "info", "Getting prompt %s", in.Name)
	defer out.Metadata.fill(h.mgr)
	res, d, ok := send(ctx, h, req, &out.Result, "Getting prompt "+in.Name, nil, func() (*connmgr.PromptResult, error) {
		return h.mgr.GetPrompt(ctx, in.Name, args, timeout)
	})
	if !ok {
		return out
	}
	took := formatMS(d)
	out.Prompt = h.renderedPrompt(in.Name, args, res.Result, res.Raw)
	out.Success = true
	n := len(out.Prompt.Messages)
	out.Message = fmt.Sprintf("Rendered prompt %s in %s: %d %s.", in.Name, took, n, plural(n, "message", "messages"))
	h.notify(ctx, req, "info", "Prompt %s rendered in %s", in.Name, took)
	return out
}

// renderedPrompt shows r, whose wire form raw is (nil over HTTP).
func (h *handlers) renderedPrompt(name string, args map[string]string, r *mcp.GetPromptResult, raw json.RawMessage) *RenderedPrompt {
	if r == nil {
		r = &mcp.GetPromptResult{}
	}
	p := &RenderedPrompt{Name: name, Arguments: map[string]string{}, Description: r.Description, Messages: []PromptMessage{},
		wireParts: partsOf(raw, r.Meta, promptResultFields)}
	f, _ := objectFields(raw)
	var sent []rawRef
	_ = json.Unmarshal(f["messages"], &sent)
	for k, v := range args {
		if redact.IsSecretName(k) {
			v = redact.Mask
		}
		p.Arguments[k] = v
	}
	cut := cutter{maxText: h.maxText, maxBinary: maxBinaryBytes}
	var content []mcp.Content
	for i, m := range r.Messages {
		if m == nil {
			continue
		}
		msg := PromptMessage{Role: string(m.Role)}
		if i < len(sent) {
			mf, _ := objectFields(json.RawMessage(sent[i]))
			msg.Content = cut.rawBlock(mf["content"], m.Content)
			msg.wireParts = partsOf(json.RawMessage(sent[i]), nil, promptMessageFields)
		} else {
			msg.Content = cut.block(m.Content)
		}
		p.Messages = append(p.Messages, msg)
		content = append(content, m.Content)
	}
	p.Text, p.TextSizeBytes, p.TextTruncated = cut.joinText(content)
	if !p.TextTruncated {
		p.TextSizeBytes = 0
	}
	return p
}

// stringArguments decodes prompt arguments: an object (or a string holding
// one), turned into strings by check.PromptArguments, the one rule that
// get_prompt, execute_prompt and a spec's get_prompt step share.
func stringArguments(v any) (map[string]string, error) {
	obj, err := (&CallToolInput{Arguments: v}).arguments()
	if err != nil {
		var ae *errtype.ArgError
		if errors.As(err, &ae) {
			ae.Suggestion = `Pass arguments as a JSON object of strings, e.g. {"name": "Ada"}; list_prompts shows each prompt's arguments.`
		}
		return nil, err
	}
	// Its error is an *errtype.ArgError with its own suggestion.
	return check.PromptArguments(obj)
}
