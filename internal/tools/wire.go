package tools

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// wireResult is a tools/call result as the target sent it, split into the
// fields MCP defines and the rest. Every part keeps its bytes: unknown
// fields, key order and numbers' exact text (2^53+1 stays 9007199254740993),
// which go-sdk's structs would drop or round.
type wireResult struct {
	Content           []json.RawMessage
	StructuredContent json.RawMessage
	Meta              json.RawMessage
	// Other holds the result's fields that MCP does not define (and its
	// own, which the caller leaves out).
	Other map[string]json.RawMessage
}

// callResultFields are the fields of a tools/call result that ToolCall
// shows in their own places.
var callResultFields = []string{"content", "structuredContent", "_meta", "isError"}

// splitCallResult splits raw, a tools/call result as sent. The parts are
// slices of raw, not copies (a 20 MB block is not held twice). A result
// that is not an object, or whose content is not an array, gives an empty
// wireResult: go-sdk refuses such results before they get here.
func splitCallResult(raw json.RawMessage) wireResult {
	fields, ok := objectFields(raw)
	if !ok {
		return wireResult{}
	}
	w := wireResult{StructuredContent: fields["structuredContent"], Meta: fields["_meta"], Other: fields}
	var blocks []rawRef
	_ = json.Unmarshal(fields["content"], &blocks)
	for _, b := range blocks {
		w.Content = append(w.Content, json.RawMessage(b))
	}
	return w
}

// rawRef keeps a JSON value as a slice of the text it was decoded from,
// where json.RawMessage copies it. Only for text that is not changed
// afterwards.
type rawRef []byte

func (r *rawRef) UnmarshalJSON(b []byte) error {
	*r = b
	return nil
}

// objectFields splits raw, a JSON object, into its fields, each a slice of
// raw (see rawRef). ok is false when raw is not an object.
func objectFields(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	var refs map[string]rawRef
	if json.Unmarshal(raw, &refs) != nil || refs == nil {
		return nil, false
	}
	fields := make(map[string]json.RawMessage, len(refs))
	for k, v := range refs {
		fields[k] = json.RawMessage(v)
	}
	return fields, true
}

// wireValue is raw as a value to show: nil (shown as null, or left out)
// when it is absent or the JSON null. It is typed any, not
// json.RawMessage, because a nil RawMessage in an interface would encode
// as null where omitempty means to leave it out.
func wireValue(raw json.RawMessage) any {
	if len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	return raw
}

// otherFields are the fields of fields not named in known, as sent, or nil
// when there are none.
func otherFields(fields map[string]json.RawMessage, known []string) map[string]any {
	var out map[string]any
	for k, v := range fields {
		if slices.Contains(known, k) {
			continue
		}
		if out == nil {
			out = map[string]any{}
		}
		out[k] = v
	}
	return out
}

// wireFields splits raw, an item of a list as the target sent it (or typed,
// as go-sdk decoded it, when raw is nil), into its fields, and returns too
// those not named in known, as sent.
func wireFields(raw json.RawMessage, typed any, known []string) (map[string]json.RawMessage, map[string]any) {
	if raw == nil {
		raw, _ = json.Marshal(typed)
	}
	f, _ := objectFields(raw)
	return f, otherFields(f, known)
}

// rawBlocks is blocks for content blocks as the target sent them: a block
// within the limits is kept byte for byte; a cut one is encoded again, with
// its other fields as sent, and "truncated": true and "size_bytes".
func (c cutter) rawBlocks(content []json.RawMessage, typed []mcp.Content) []any {
	out := make([]any, 0, len(content))
	for i, b := range content {
		var t mcp.Content
		if i < len(typed) {
			t = typed[i]
		}
		out = append(out, c.rawBlock(b, t))
	}
	return out
}

// decoded is what go-sdk decoded of a block's big field: its text or its
// binary data. With it a cut block's field is not decoded a second time
// (a 20 MB text costs 20 MB less).
type decoded struct {
	text *string
	data []byte
}

// decodedOf is decoded for the block typed, go-sdk's decoding of a block of
// type typ (nil: not had).
func decodedOf(typ string, typed mcp.Content) (block, resource decoded) {
	switch t := typed.(type) {
	case *mcp.TextContent:
		if typ == "text" {
			block.text = &t.Text
		}
	case *mcp.ImageContent:
		if typ == "image" {
			block.data = t.Data
		}
	case *mcp.AudioContent:
		if typ == "audio" {
			block.data = t.Data
		}
	case *mcp.EmbeddedResource:
		if typ == "resource" && t.Resource != nil {
			resource = decoded{text: &t.Resource.Text, data: t.Resource.Blob}
		}
	}
	return block, resource
}

// rawBlock is one block of rawBlocks; typed is go-sdk's decoding of it, or
// nil.
func (c cutter) rawBlock(raw json.RawMessage, typed mcp.Content) any {
	b, ok := objectFields(raw)
	if !ok {
		return raw
	}
	var typ string
	_ = json.Unmarshal(b["type"], &typ)
	known, knownResource := decodedOf(typ, typed)
	size := -1
	switch typ {
	case "text":
		size = c.cutText(b, "text", known.text)
	case "image", "audio":
		size = c.cutBinary(b, "data", known.data)
	case "resource":
		r, ok := objectFields(b["resource"])
		if !ok {
			break
		}
		size = max(c.cutText(r, "text", knownResource.text), c.cutBinary(r, "blob", knownResource.data))
		if size >= 0 {
			b["resource"], _ = json.Marshal(r)
		}
	}
	if size < 0 {
		return raw
	}
	b["truncated"] = json.RawMessage("true")
	b["size_bytes"] = json.RawMessage(strconv.Itoa(size))
	out, err := json.Marshal(b)
	if err != nil {
		return raw
	}
	return json.RawMessage(out)
}

// cutText cuts the string field key of b past maxText, and returns its size
// before the cut, or -1 when nothing was cut. known is the field's text
// when go-sdk decoded it (nil: it is decoded here). A quoted string is
// never shorter than its text, so short fields are not decoded.
func (c cutter) cutText(b map[string]json.RawMessage, key string, known *string) int {
	if len(b[key]) <= c.maxText+2 {
		return -1
	}
	var s string
	switch {
	case known != nil:
		s = *known
	case json.Unmarshal(b[key], &s) != nil:
		return -1
	}
	if len(s) <= c.maxText {
		return -1
	}
	b[key], _ = json.Marshal(textcut.Cut(s, c.maxText))
	return len(s)
}

// cutBinary cuts the base64 field key of b to maxBinary decoded bytes, and
// returns the decoded size before the cut, or -1 when nothing was cut.
// known is the decoded data when go-sdk decoded it (nil: it is decoded
// here).
func (c cutter) cutBinary(b map[string]json.RawMessage, key string, known []byte) int {
	if len(b[key]) <= c.maxBinary+2 {
		return -1
	}
	data := known
	if data == nil {
		var s string
		if json.Unmarshal(b[key], &s) != nil {
			return -1
		}
		var err error
		if data, err = base64.StdEncoding.DecodeString(s); err != nil {
			return -1
		}
	}
	if len(data) <= c.maxBinary {
		return -1
	}
	b[key], _ = json.Marshal(base64.StdEncoding.EncodeToString(data[:c.maxBinary]))
	return len(data)
}
