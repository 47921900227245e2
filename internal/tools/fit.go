package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// maxAnswerBytes bounds the JSON of one tool's answer. The host receives it
// twice (structuredContent and the text block), so a frame stays near 8 MiB
// at most, well under the 16 MiB that hosts accept.
const maxAnswerBytes = 4 << 20

// Where fitAnswer stops shrinking: strings are not cut below minStringCap
// bytes, lists below one item; objects are cut only when they have more
// than minObjectKeys keys (the envelope's own objects have fewer).
const (
	minStringCap  = 256
	minObjectKeys = 64
	firstListCap  = 10_000
)

// fitAnswer is the last-resort guard on an answer's size: when the JSON b is
// over limit, it cuts the longest strings, then shortens the longest lists
// and objects (most of a big answer is what the target sent), halving the
// caps until it fits, and says so in message. Types stay as they were, so
// the answer still matches its output schema. When no cutting is enough, it
// returns a failed envelope instead, and failed is true.
func fitAnswer(b []byte, limit int) (out []byte, failed bool) {
	if len(b) <= limit {
		return b, false
	}
	strCap, listCap := limit/8, 0
	for {
		f := &fitter{strCap: strCap, listCap: listCap}
		v, err := decodeNumbers(b)
		if err != nil {
			return tooLargeAnswer(b, len(b), limit), true // cannot happen for our own JSON
		}
		v = f.walk(v)
		env, ok := v.(map[string]any)
		if ok {
			msg, _ := env["message"].(string)
			env["message"] = cutNote(msg, 4<<10) + " " + f.note(len(b), limit)
		}
		out, err := json.Marshal(v)
		if err == nil && len(out) <= limit {
			return out, false
		}
		if strCap == minStringCap && listCap == 1 {
			return tooLargeAnswer(b, len(b), limit), true
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

func decodeNumbers(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// fitter cuts strings over strCap bytes and lists over listCap items (0: no
// cap), counting what it cut.
type fitter struct {
	strCap, listCap int
	strings, lists  int
}

func (f *fitter) walk(v any) any {
	switch v := v.(type) {
	case string:
		if len(v) > f.strCap {
			f.strings++
			return cutNote(v, f.strCap)
		}
	case []any:
		if f.listCap > 0 && len(v) > f.listCap {
			f.lists++
			v = v[:f.listCap]
		}
		for i := range v {
			v[i] = f.walk(v[i])
		}
		return v
	case map[string]any:
		if f.listCap > 0 && len(v) > max(f.listCap, minObjectKeys) {
			f.lists++
			for _, k := range slices.Sorted(maps.Keys(v))[max(f.listCap, minObjectKeys):] {
				delete(v, k)
			}
		}
		for k, x := range v {
			v[k] = f.walk(x)
		}
	}
	return v
}

func (f *fitter) note(size, limit int) string {
	s := fmt.Sprintf("[This answer was %d bytes, over the %d MiB bound, so it was cut: %d strings to %d bytes", size, limit>>20, f.strings, f.strCap)
	if f.lists > 0 {
		s += fmt.Sprintf(", %d lists or objects to %d items", f.lists, max(f.listCap, 1))
	}
	return s + ". Ask for less, e.g. with a filter or a limit.]"
}

// tooLargeAnswer is what stands for an answer that no cutting brought under
// limit (objects of many small objects): a failed envelope that says so.
// It is unreachable for answers built from messages under the message cap
// in practice, but the bound holds whatever the answer.
func tooLargeAnswer(b []byte, size, limit int) []byte {
	var meta struct {
		Metadata Metadata `json:"metadata"`
	}
	_ = json.Unmarshal(b, &meta)
	msg := fmt.Sprintf("The answer was %d bytes, over the %d MiB bound, and could not be cut to fit.", size, limit>>20)
	out, _ := json.Marshal(map[string]any{
		"success": false,
		"message": msg,
		"error": &ErrorInfo{Type: ErrInternalError, Message: msg,
			Suggestion: "Ask for less: a filter, a limit, or a tool that returns a smaller result."},
		"metadata": meta.Metadata,
	})
	return out
}
