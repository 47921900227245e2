//lint:file-ignore SA1019 sampling and roots are deprecated from protocol 2026-07-28 on, but the tester offers only earlier versions, where targets use them.

package check

import (
	"context"
	"path"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/connmgr"
)

// answeredBy is recorded with the target's requests that a check answers.
const answeredBy = "check_options"

// side turns the client answers into connmgr's handlers.
func (c *Client) side() connmgr.ClientSide {
	var side connmgr.ClientSide
	if c == nil {
		return side
	}
	if c.SamplingResponse != nil {
		text := *c.SamplingResponse
		side.Sampling = func(context.Context, *mcp.CreateMessageParams) (*mcp.CreateMessageResult, string, error) {
			return &mcp.CreateMessageResult{
				Content: &mcp.TextContent{Text: text}, Model: "mcp-test-mcp", Role: "assistant", StopReason: "endTurn",
			}, answeredBy, nil
		}
	}
	if c.ElicitationAction != "" {
		action := c.ElicitationAction
		var content map[string]any
		if c.ElicitationContent != nil {
			content, _ = plain(c.ElicitationContent).(map[string]any)
		}
		side.Elicitation = func(_ context.Context, p *mcp.ElicitParams) (*mcp.ElicitResult, string, error) {
			return ElicitAnswer(action, content, p), answeredBy, nil
		}
	}
	if c.Roots != nil {
		side.Roots = make([]*mcp.Root, 0, len(c.Roots))
		for _, u := range c.Roots {
			side.Roots = append(side.Roots, &mcp.Root{URI: u, Name: path.Base(u)})
		}
	}
	return side
}

// mergeClient returns base with the fields set in over replacing its own.
func mergeClient(base, over *Client) *Client {
	out := &Client{}
	for _, c := range []*Client{base, over} {
		if c == nil {
			continue
		}
		if c.SamplingResponse != nil {
			out.SamplingResponse = c.SamplingResponse
		}
		if c.ElicitationAction != "" {
			out.ElicitationAction = c.ElicitationAction
			out.ElicitationContent = c.ElicitationContent
		}
		if c.Roots != nil {
			out.Roots = c.Roots
		}
	}
	return out
}
