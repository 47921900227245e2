package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/errtype"
	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// maxAnswerBytes bounds the frame of one tool's answer, as the host receives
// it: the envelope JSON twice, once as structuredContent and once escaped
// again inside the text block, plus the JSON-RPC envelope. Hosts accept
// 16 MiB; SPEC §12 asks for 4 MiB.
const maxAnswerBytes = 4 << 20

// frameReserve is what the JSON-RPC envelope around a result may take
// ("jsonrpc", the host's id, "result"): frameSize counts it.
const frameReserve = 4 << 10

// Where fitAnswer stops shrinking: strings are not cut below minStringCap
// bytes, lists below one item; objects are cut only when they have more
// than minObjectKeys keys (the envelope's own objects have fewer).
const (
	minStringCap  = 256
	minObjectKeys = 64
	firstListCap  = 10_000
)

// answer is the MCP result that carries the envelope JSON b: as
// structuredContent, and as the one text block.
func answer(b []byte, isError bool) *mcp.CallToolResult {
	return &mcp.CallToolResult{
		Content:           []mcp.Content{&mcp.TextContent{Text: string(b)}},
		StructuredContent: json.RawMessage(b),
		IsError:           isError,
	}
}

// frameSize returns the encoded size of answer(b) and frameReserve: what the
// host receives for the envelope b, both copies with their own escaping.
func frameSize(b []byte) int {
	out, err := json.Marshal(answer(b, true))
	if err != nil {
		return len(b) * 13 // more than any escaping: never taken as fitting
	}
	return len(out) + frameReserve
}

// fitAnswer is the last-resort guard on an answer's size: when size(b), the
// size of the frame that carries the envelope JSON b, is over limit, it
// cuts the longest strings, then shortens the longest lists and objects
// (most of a big answer is what the target sent), until the frame fits, and
// says so in message. Types stay as they were, so the answer still matches
// its output schema. When no cutting is enough, it returns a failed envelope
// instead, and failed is true. b is decoded once; each attempt cuts a copy.
func fitAnswer(b []byte, limit int, size func([]byte) int) (out []byte, failed bool) {
	// Each byte of the envelope JSON is at most 2 bytes in the text copy
	// (a quote or backslash escaped again): small answers need no measuring.
	if 3*len(b)+1<<10 <= limit-frameReserve {
		return b, false
	}
	// The frame holds b at least once: measure it only when that may fit.
	frame := len(b) + quotedLen(b)
	if len(b) <= limit {
		if frame = size(b); frame <= limit {
			return b, false
		}
	}
	v, err := decodeNumbers(b)
	if err != nil {
		return tooLargeAnswer(nil, frame, limit), true // cannot happen for our own JSON
	}
	// The first cap is proportional to how far over the frame is; later
	// ones halve, so that a frame mostly of short strings ends in few passes.
	strCap := int(float64(longestString(v)) * float64(limit) / float64(frame) * 0.95)
	strCap, listCap := max(strCap, minStringCap), 0
	for {
		f := &fitter{strCap: strCap, listCap: listCap}
		cut, _ := f.walk(v)
		if env, ok := cut.(map[string]any); ok {
			env = maps.Clone(env) // walk shares what it did not change with v
			msg, _ := env["message"].(string)
			env["message"] = textcut.CutNote(msg, 4<<10) + " " + f.note(frame, limit)
			cut = env
		}
		out, err := json.Marshal(cut)
		// The frame holds out at least once: no need to measure it when
		// out alone is over.
		if err == nil && len(out) <= limit && size(out) <= limit {
			return out, false
		}
		if strCap == minStringCap && listCap == 1 {
			return tooLargeAnswer(v, frame, limit), true
		}
		strCap = max(strCap/2, minStringCap)
		if strCap <= 4<<10 {
			if listCap == 0 {
				listCap = firstListCap
			} else {
				listCap = max(listCap/2, 1)
			}
		}
	}
}

// quotedLen returns the length of b as a JSON string, as encoding/json
// writes it (HTML characters escaped).
func quotedLen(b []byte) int {
	n := 2
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, w := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			n += 6 // \ufffd
		case r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += w
		}
		i += w
	}
	return n
}

func decodeNumbers(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// longestString returns the length of the longest string in v.
func longestString(v any) int {
	n := 0
	switch v := v.(type) {
	case string:
		n = len(v)
	case []any:
		for _, x := range v {
			n = max(n, longestString(x))
		}
	case map[string]any:
		for _, x := range v {
			n = max(n, longestString(x))
		}
	}
	return n
}

// fitter cuts strings over strCap bytes and lists over listCap items (0: no
// cap), counting what it cut.
type fitter struct {
	strCap, listCap int
	strings, lists  int
}

// walk returns v with its strings and lists cut, and whether it cut
// anything. It never changes v: a list or object with something cut is a
// new one, the rest is shared with v.
func (f *fitter) walk(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		if len(v) > f.strCap {
			f.strings++
			return textcut.CutNote(v, f.strCap), true
		}
	case []any:
		changed := false
		if f.listCap > 0 && len(v) > f.listCap {
			f.lists++
			v, changed = v[:f.listCap:f.listCap], true
		}
		if out, ok := walkEach(f, slices.All(v), func() []any { return slices.Clone(v) },
			func(out []any, i int, y any) { out[i] = y }); ok {
			return out, true
		}
		return v, changed
	case map[string]any:
		changed := false
		if f.listCap > 0 && len(v) > max(f.listCap, minObjectKeys) {
			f.lists++
			kept := make(map[string]any, max(f.listCap, minObjectKeys))
			for _, k := range slices.Sorted(maps.Keys(v))[:max(f.listCap, minObjectKeys)] {
				kept[k] = v[k]
			}
			v, changed = kept, true
		}
		if out, ok := walkEach(f, maps.All(v), func() map[string]any { return maps.Clone(v) },
			func(out map[string]any, k string, y any) { out[k] = y }); ok {
			return out, true
		}
		return v, changed
	}
	return v, false
}

// walkEach walks every value of a list or an object, given as its
// (index or key, value) pairs. When walk changed any, it returns a copy of
// the list or object, made by clone, with set storing the changed values
// in it; else false.
func walkEach[K comparable, C any](f *fitter, values iter.Seq2[K, any], clone func() C, set func(C, K, any)) (C, bool) {
	var out C
	changed := false
	for k, x := range values {
		y, c := f.walk(x)
		if c && !changed {
			out, changed = clone(), true
		}
		if changed {
			set(out, k, y)
		}
	}
	return out, changed
}

func (f *fitter) note(size, limit int) string {
	s := fmt.Sprintf("[This answer was %d bytes as sent (structuredContent and its text copy), over the %s bound, so it was cut: %d strings to %d bytes", size, boundText(limit), f.strings, f.strCap)
	if f.lists > 0 {
		s += fmt.Sprintf(", %d lists or objects to %d items", f.lists, max(f.listCap, 1))
	}
	return s + ". Ask for less, e.g. with a filter or a limit.]"
}

// boundText names the bound limit: in MiB when it is whole MiB.
func boundText(limit int) string {
	if limit >= 1<<20 && limit%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", limit>>20)
	}
	return fmt.Sprintf("%d-byte", limit)
}

// tooLargeAnswer is what stands for an answer v that no cutting brought under
// limit (objects of many small objects): a failed envelope that says so.
// It is unreachable for answers built from messages under the message cap
// in practice, but the bound holds whatever the answer.
func tooLargeAnswer(v any, size, limit int) []byte {
	env, _ := v.(map[string]any)
	msg := fmt.Sprintf("The answer was %d bytes as sent, over the %s bound, and could not be cut to fit.", size, boundText(limit))
	out, _ := json.Marshal(map[string]any{
		"success": false,
		"message": msg,
		"error": &ErrorInfo{Type: errtype.InternalError, Message: msg,
			Suggestion: "Ask for less: a filter, a limit, or a tool that returns a smaller result."},
		"metadata": env["metadata"],
	})
	return out
}
