// Package llm is a small client of OpenAI-compatible chat-completions
// endpoints (OpenAI, Ollama, vLLM, LM Studio, llama.cpp…), used by
// execute_prompt when the host cannot sample.
package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Environment variables read by FromEnv.
const (
	EnvURL    = "LLM_URL"
	EnvModel  = "LLM_MODEL_NAME"
	EnvAPIKey = "LLM_API_KEY"
)

// DefaultTimeout bounds one completion when Client.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

// maxResponseBytes caps the body read from the endpoint.
const maxResponseBytes = 16 << 20

// snippetBytes is how much of an unexpected body an error quotes.
const snippetBytes = 512

// ErrNotConfigured is returned by FromEnv when LLM_URL is not set.
var ErrNotConfigured = errors.New("LLM_URL is not set")

// Client calls one OpenAI-compatible endpoint.
type Client struct {
	// BaseURL is the API base, such as http://localhost:11434/v1, or the
	// full .../chat/completions URL.
	BaseURL string
	// Model is sent as "model"; empty sends none (some servers have one).
	Model string
	// APIKey, if set, is sent as Authorization: Bearer. It is secret.
	APIKey string
	// Timeout bounds one completion; zero means DefaultTimeout.
	Timeout time.Duration
}

// FromEnv returns a Client configured by LLM_URL, LLM_MODEL_NAME and
// LLM_API_KEY, or ErrNotConfigured.
func FromEnv() (*Client, error) {
	base := strings.TrimSpace(os.Getenv(EnvURL))
	if base == "" {
		return nil, ErrNotConfigured
	}
	return &Client{
		BaseURL: base,
		Model:   strings.TrimSpace(os.Getenv(EnvModel)),
		APIKey:  os.Getenv(EnvAPIKey),
	}, nil
}

// Endpoint is the URL that completions are posted to.
func (c *Client) Endpoint() string {
	u := strings.TrimRight(c.BaseURL, "/")
	if strings.HasSuffix(u, "/chat/completions") {
		return u
	}
	return u + "/chat/completions"
}

// Message is one chat message. Content is a string, or a list of content
// parts ({"type": "text", …}, {"type": "image_url", …}).
type Message struct {
	Role    string `json:"role"`
	Content any    `json:"content"`
}

// Reply is the endpoint's answer.
type Reply struct {
	Model        string
	Text         string
	FinishReason string
	// Usage is the endpoint's token usage object, if it sent one.
	Usage json.RawMessage
}

// HTTPError is an answer that was not a usable completion.
type HTTPError struct {
	URL         string
	StatusCode  int    // 0 when no HTTP answer came
	ContentType string //
	BodySnippet string // the start of the body
	Err         error  // what went wrong, when not the status
}

func (e *HTTPError) Error() string {
	switch {
	case e.StatusCode == 0:
		return fmt.Sprintf("posting to %s: %v", e.URL, e.Err)
	case e.Err != nil:
		return fmt.Sprintf("%s answered %d with %s: %v", e.URL, e.StatusCode, orUnknown(e.ContentType), e.Err)
	default:
		return fmt.Sprintf("%s answered %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	}
}

func (e *HTTPError) Unwrap() error { return e.Err }

func orUnknown(s string) string {
	if s == "" {
		return "no content type"
	}
	return s
}

// Complete posts messages and returns the first choice's reply.
func (c *Client) Complete(ctx context.Context, msgs []Message, maxTokens int) (*Reply, error) {
	body := map[string]any{"messages": msgs}
	if c.Model != "" {
		body["model"] = c.Model
	}
	if maxTokens > 0 {
		body["max_tokens"] = maxTokens
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encoding the request: %w", err)
	}
	url := c.Endpoint()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return nil, &HTTPError{URL: url, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return nil, &HTTPError{URL: url, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	herr := &HTTPError{URL: url, StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), BodySnippet: snippet(raw)}
	if err != nil {
		herr.Err = fmt.Errorf("reading the body: %w", err)
		return nil, herr
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, herr
	}
	var cr struct {
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Content json.RawMessage `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage json.RawMessage `json:"usage"`
	}
	if err := json.Unmarshal(raw, &cr); err != nil {
		herr.Err = fmt.Errorf("the body is not a JSON chat completion: %w", err)
		return nil, herr
	}
	if len(cr.Choices) == 0 {
		herr.Err = errors.New("the completion has no choices")
		return nil, herr
	}
	ch := cr.Choices[0]
	return &Reply{Model: cr.Model, Text: contentText(ch.Message.Content), FinishReason: ch.FinishReason, Usage: cr.Usage}, nil
}

// contentText reads a message's content: a string, or a list of parts whose
// text parts are joined.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var texts []string
		for _, p := range parts {
			if p.Text != "" {
				texts = append(texts, p.Text)
			}
		}
		return strings.Join(texts, "\n")
	}
	return ""
}

// snippet returns the start of b as valid UTF-8.
func snippet(b []byte) string {
	if len(b) > snippetBytes {
		return strings.ToValidUTF8(string(b[:snippetBytes]), "") + "…"
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
