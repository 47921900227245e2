package tools

import (
	"encoding/json"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// cutter turns a result's content blocks into their wire form, cutting text
// and binary data past the limits. A cut block gets "truncated": true and
// "size_bytes" (the size of the text, or of the decoded binary data, before
// the cut).
//
// The limits are applied before anything is marshaled, so that a 20 MB text
// block never costs more than its cut copy.
type cutter struct {
	maxText, maxBinary int
}

func (c cutter) block(b mcp.Content) any {
	var (
		v    any = b
		size     = -1 // the size before the cut, or -1 when nothing was cut
	)
	switch b := b.(type) {
	case *mcp.TextContent:
		if len(b.Text) > c.maxText {
			cp := *b
			cp.Text, size = textcut.Cut(b.Text, c.maxText), len(b.Text)
			v = &cp
		}
	case *mcp.ImageContent:
		if len(b.Data) > c.maxBinary {
			cp := *b
			cp.Data, size = b.Data[:c.maxBinary], len(b.Data)
			v = &cp
		}
	case *mcp.AudioContent:
		if len(b.Data) > c.maxBinary {
			cp := *b
			cp.Data, size = b.Data[:c.maxBinary], len(b.Data)
			v = &cp
		}
	case *mcp.EmbeddedResource:
		if r := b.Resource; r != nil && (len(r.Text) > c.maxText || len(r.Blob) > c.maxBinary) {
			rc := *r
			if len(r.Text) > c.maxText {
				rc.Text, size = textcut.Cut(r.Text, c.maxText), len(r.Text)
			}
			if len(r.Blob) > c.maxBinary {
				rc.Blob, size = r.Blob[:c.maxBinary], len(r.Blob)
			}
			cp := *b
			cp.Resource = &rc
			v = &cp
		}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return map[string]any{"type": "invalid", "error": fmt.Sprintf("marshaling a %T content block: %v", b, err)}
	}
	if size < 0 || len(raw) < 2 || raw[len(raw)-1] != '}' {
		return json.RawMessage(raw)
	}
	raw = append(raw[:len(raw)-1], `,"truncated":true,"size_bytes":`...)
	raw = strconv.AppendInt(raw, int64(size), 10)
	return json.RawMessage(append(raw, '}'))
}

// joinText joins the text blocks with newlines, cut at maxText. It returns
// the joined text, the size it would have uncut, and whether it was cut.
func (c cutter) joinText(content []mcp.Content) (string, int, bool) {
	return c.join(func(yield func(string) bool) {
		for _, blk := range content {
			if t, ok := blk.(*mcp.TextContent); ok && !yield(t.Text) {
				return
			}
		}
	})
}

// join joins texts with newlines, cut at maxText (see joinText).
func (c cutter) join(texts iter.Seq[string]) (string, int, bool) {
	var (
		b    strings.Builder
		size int
	)
	for t := range texts {
		if size > 0 {
			size++
			if b.Len() < c.maxText {
				b.WriteByte('\n')
			}
		}
		size += len(t)
		if room := c.maxText - b.Len(); room > 0 {
			b.WriteString(textcut.Cut(t, room))
		}
	}
	return b.String(), size, size > b.Len()
}

// blockType is the "type" of a wire-form content block.
func blockType(b any) string {
	var t struct {
		Type string `json:"type"`
	}
	switch b := b.(type) {
	case json.RawMessage:
		_ = json.Unmarshal(b, &t)
	case map[string]any:
		t.Type, _ = b["type"].(string)
	}
	return t.Type
}
