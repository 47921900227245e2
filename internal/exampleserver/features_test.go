package exampleserver

import (
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResources(t *testing.T) {
	cs := startStdio(t).connect(t, nil)

	t.Run("two resources and one template are listed", func(t *testing.T) {
		res, err := cs.ListResources(t.Context(), nil)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"example://readme", "example://logo.png"}, namesOf(res.Resources, func(r *mcp.Resource) string { return r.URI }))

		tmpl, err := cs.ListResourceTemplates(t.Context(), nil)
		require.NoError(t, err)
		require.Len(t, tmpl.ResourceTemplates, 1)
		assert.Equal(t, "example://items/{id}", tmpl.ResourceTemplates[0].URITemplate)
	})

	tests := []struct {
		name     string
		uri      string
		wantMIME string
		wantText string
		wantBlob []byte
	}{
		{name: "the readme is markdown text", uri: "example://readme", wantMIME: "text/markdown", wantText: readme},
		{name: "the logo is a PNG blob", uri: "example://logo.png", wantMIME: "image/png", wantBlob: logoPNG()},
		{name: "the template serves any item", uri: "example://items/42", wantMIME: "text/plain", wantText: "Item 42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := cs.ReadResource(t.Context(), &mcp.ReadResourceParams{URI: tt.uri})
			require.NoError(t, err)
			require.Len(t, res.Contents, 1)
			c := res.Contents[0]
			assert.Equal(t, tt.uri, c.URI)
			assert.Equal(t, tt.wantMIME, c.MIMEType)
			assert.Equal(t, tt.wantText, c.Text)
			assert.Equal(t, tt.wantBlob, c.Blob)
		})
	}

	t.Run("an unknown resource is an error", func(t *testing.T) {
		_, err := cs.ReadResource(t.Context(), &mcp.ReadResourceParams{URI: "example://nope"})
		assert.Error(t, err)
	})
}

func TestPrompts(t *testing.T) {
	cs := startStdio(t).connect(t, nil)

	t.Run("greet and summarize are listed", func(t *testing.T) {
		res, err := cs.ListPrompts(t.Context(), nil)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"greet", "summarize"}, namesOf(res.Prompts, func(p *mcp.Prompt) string { return p.Name }))
	})

	tests := []struct {
		name     string
		prompt   string
		args     map[string]string
		wantText string
		wantErr  bool
	}{
		{name: "greet defaults to a casual style", prompt: "greet", args: map[string]string{"name": "Ada"}, wantText: "Say hi to Ada."},
		{name: "greet takes a style", prompt: "greet", args: map[string]string{"name": "Ada", "style": "pirate"}, wantText: "Greet Ada the way a pirate would."},
		{name: "greet needs a name", prompt: "greet", args: map[string]string{}, wantErr: true},
		{name: "greet refuses an unknown style", prompt: "greet", args: map[string]string{"name": "Ada", "style": "rude"}, wantErr: true},
		{name: "summarize quotes the text", prompt: "summarize", args: map[string]string{"text": "abc"}, wantText: "Please summarize the following text:\n\nabc"},
		{name: "summarize needs a text", prompt: "summarize", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := cs.GetPrompt(t.Context(), &mcp.GetPromptParams{Name: tt.prompt, Arguments: tt.args})
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Len(t, res.Messages, 1)
			assert.Equal(t, mcp.Role("user"), res.Messages[0].Role)
			assert.Equal(t, tt.wantText, res.Messages[0].Content.(*mcp.TextContent).Text)
		})
	}
}

func TestCompletion(t *testing.T) {
	cs := startStdio(t).connect(t, nil)

	tests := []struct {
		name   string
		ref    *mcp.CompleteReference
		arg    mcp.CompleteParamsArgument
		values []string
	}{
		{name: "greet style completes by prefix", ref: &mcp.CompleteReference{Type: "ref/prompt", Name: "greet"},
			arg: mcp.CompleteParamsArgument{Name: "style", Value: "p"}, values: []string{"pirate"}},
		{name: "an empty prefix offers every style", ref: &mcp.CompleteReference{Type: "ref/prompt", Name: "greet"},
			arg: mcp.CompleteParamsArgument{Name: "style"}, values: []string{"casual", "formal", "pirate"}},
		{name: "other arguments have no completions", ref: &mcp.CompleteReference{Type: "ref/prompt", Name: "greet"},
			arg: mcp.CompleteParamsArgument{Name: "name", Value: "A"}, values: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := cs.Complete(t.Context(), &mcp.CompleteParams{Ref: tt.ref, Argument: tt.arg})
			require.NoError(t, err)
			assert.Equal(t, tt.values, res.Completion.Values)
		})
	}
}

// namesOf returns what name says of each of items: the names (or URIs) a
// list shows.
func namesOf[T any](items []T, name func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = name(it)
	}
	return out
}
