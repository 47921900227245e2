package llm

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEndpoint(t *testing.T) {
	for base, want := range map[string]string{
		"http://localhost:11434/v1":                   "http://localhost:11434/v1/chat/completions",
		"http://localhost:11434/v1/":                  "http://localhost:11434/v1/chat/completions",
		"https://api.example.com/v1/chat/completions": "https://api.example.com/v1/chat/completions",
	} {
		assert.Equal(t, want, (&Client{BaseURL: base}).Endpoint(), base)
	}
}

func TestSnippetIsShortValidUTF8(t *testing.T) {
	s := snippet([]byte(strings.Repeat("é", snippetBytes)))
	assert.True(t, strings.HasSuffix(s, "…"))
	assert.LessOrEqual(t, len(s), snippetBytes+len("…"))
	assert.NotContains(t, s, "\uFFFD")
}

func TestComplete(t *testing.T) {
	const key = "sk-llm-SECRET-0042"
	type seen struct {
		auth  string
		model string
		max   float64
		msgs  int
	}
	tests := []struct {
		name    string
		status  int
		ctype   string
		body    string
		want    string
		wantErr string
	}{
		{"a string reply", 200, "application/json", `{"model":"m1","choices":[{"message":{"content":"hello"},"finish_reason":"stop"}],"usage":{"total_tokens":3}}`, "hello", ""},
		{"a reply in parts", 200, "application/json", `{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]}`, "a\nb", ""},
		{"an error status names the status", 500, "text/plain", "upstream exploded", "", "answered 500"},
		{"a body that is not JSON says so", 200, "text/html", "<html>", "", "not a JSON chat completion"},
		{"no choices says so", 200, "application/json", `{"choices":[]}`, "", "no choices"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan seen, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var body struct {
					Model     string    `json:"model"`
					MaxTokens float64   `json:"max_tokens"`
					Messages  []Message `json:"messages"`
				}
				_ = json.NewDecoder(r.Body).Decode(&body)
				got <- seen{r.Header.Get("Authorization"), body.Model, body.MaxTokens, len(body.Messages)}
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			c := &Client{BaseURL: srv.URL + "/v1", Model: "m1", APIKey: key}
			reply, err := c.Complete(t.Context(), []Message{{Role: "user", Content: "hi"}}, 64)
			s := <-got
			assert.Equal(t, "Bearer "+key, s.auth)
			assert.Equal(t, "m1", s.model)
			assert.InDelta(t, 64.0, s.max, 0)
			assert.Equal(t, 1, s.msgs)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), key, "the key never appears in errors")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, reply.Text)
		})
	}
}

func TestCompleteWhenNothingAnswers(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := (&Client{BaseURL: url, APIKey: "sk-never-shown-1234"}).Complete(t.Context(), nil, 0)
	var herr *HTTPError
	require.ErrorAs(t, err, &herr)
	assert.Zero(t, herr.StatusCode)
	assert.NotContains(t, err.Error(), "sk-never-shown-1234")
}
