package connmgr

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-test-mcp/mcp-test-mcp/internal/textcut"
)

// Bounds on what is stored of the target's notifications, so that memory
// stays bounded whatever the target sends: data is cut when it is stored,
// not only when it is shown.
const (
	// MaxEventData is how many bytes of one event's data are kept.
	MaxEventData = 16 << 10
	// MaxCallLogs and MaxCallProgress are how many log and progress
	// notifications one call keeps (the newest; older ones are counted as
	// dropped).
	MaxCallLogs     = 100
	MaxCallProgress = 100
	// MaxLogData is how many bytes of one log message's data a call keeps.
	MaxLogData = 16 << 10
	// MaxProgressMessage is how many bytes of a progress message a call
	// keeps.
	MaxProgressMessage = 1 << 10
	// MaxInfoField is how many bytes of each of the target's serverInfo
	// name, title and version are kept.
	MaxInfoField = 1 << 10
	// MaxWireCapabilities is how many bytes of the capabilities are shown
	// as the target sent them; larger ones are shown as go-sdk decoded
	// them.
	MaxWireCapabilities = 64 << 10
	// maxHeaderValue is how many bytes of a header such as
	// WWW-Authenticate an error keeps.
	maxHeaderValue = 1 << 10
)

// cutJSON returns raw if it is at most max bytes; otherwise a JSON string of
// at most max bytes holding the start of raw's text (cut at a rune
// boundary), true, and len(raw).
func cutJSON(raw json.RawMessage, limit int) (json.RawMessage, bool, int) {
	if len(raw) <= limit {
		return raw, false, len(raw)
	}
	n := limit - 2 // the quotes
	for {
		for n > 0 && !utf8.RuneStart(raw[n]) {
			n--
		}
		b, _ := json.Marshal(strings.ToValidUTF8(string(raw[:n]), ""))
		if len(b) <= limit || n == 0 {
			return b, true, len(raw)
		}
		n -= max(len(b)-limit, 1) // escapes grew it
	}
}

// callNotes keeps the progress and log notifications of one call, bounded in
// count (the newest MaxCallProgress and MaxCallLogs; older ones are counted
// as dropped) and in bytes (each log's data and each progress message cut
// when stored). The zero value is ready to use; it is not safe for
// concurrent use (the collector's mu guards it).
type callNotes struct {
	progress        []Progress
	logs            []LogEntry
	progressDropped int
	logsDropped     int
}

func (n *callNotes) addProgress(p Progress) {
	if len(p.Message) > MaxProgressMessage {
		p.MessageSizeBytes = len(p.Message)
		p.Message = textcut.Cut(p.Message, MaxProgressMessage)
	}
	if len(n.progress) >= MaxCallProgress {
		n.progress = slices.Delete(n.progress, 0, 1)
		n.progressDropped++
	}
	n.progress = append(n.progress, p)
}

func (n *callNotes) addLog(e LogEntry) {
	if len(n.logs) >= MaxCallLogs {
		n.logs = slices.Delete(n.logs, 0, 1)
		n.logsDropped++
	}
	n.logs = append(n.logs, e)
}

func (n *callNotes) count() int {
	return len(n.progress) + len(n.logs) + n.progressDropped + n.logsDropped
}

// logEntry turns a log notification into what a call keeps: its data masked
// inside its strings (scrubJSON, which sees through the escapes Marshal
// writes for & < > and control characters), then cut at MaxLogData: once
// cut, the data is a string of JSON text whose escapes no later scrub of
// the answer decodes.
func logEntry(p *mcp.LoggingMessageParams, scrubJSON func([]byte) []byte) LogEntry {
	data, err := json.Marshal(p.Data)
	if err != nil {
		data, _ = json.Marshal(fmt.Sprint(p.Data))
	}
	raw, truncated, size := cutJSON(json.RawMessage(scrubJSON(data)), MaxLogData)
	e := LogEntry{Level: textcut.Cut(string(p.Level), 64), Logger: textcut.Cut(p.Logger, 256), Data: raw}
	if truncated {
		e.Truncated, e.SizeBytes = true, size
	}
	return e
}
