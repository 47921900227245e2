// Package hostile is a hand-written stdio MCP target that floods, nests and
// oversizes its messages, and answers as no SDK would (looping cursors,
// tools an SDK would reject, its own error codes), for tests of the tester's
// bounds and defences. It also owns the project's one re-exec convention for
// test targets (ServeIfAsked): a test binary is started with Behaviour=<name>
// in its environment, and its TestMain runs that target, be it a behaviour
// of this package, the example server or a package's own:
//
//	func TestMain(m *testing.M) {
//		hostile.ServeIfAsked(nil)
//		os.Exit(m.Run())
//	}
//
// Import this package only from _test.go files.
package hostile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Behaviour is the environment variable that names the target a
// re-executed test binary runs (see ServeIfAsked).
const Behaviour = "MCP_TEST_HOSTILE"

// Tool is the name of the one tool listed (except by HugePages).
const Tool = "hostile"

// The behaviours. Sizes and counts come from the environment variables named
// in brackets, with the defaults shown. Whatever the behaviour, the target
// first writes one line of [HOSTILE_STDERR_LINE=0] bytes to its stderr, and
// when that is not zero, [HOSTILE_SECRET] and " and more" after them on the
// same line.
const (
	// LogFlood answers tools/call after [HOSTILE_LOGS=60] log notifications
	// of [HOSTILE_LOG_BYTES=4 MiB] of data each, and [HOSTILE_PROGRESS=0]
	// progress notifications with a [HOSTILE_LOG_BYTES] message each.
	LogFlood = "log-flood"
	// DeepNest answers tools/call with a result nested in 100,000 arrays,
	// too deep for encoding/json.
	DeepNest = "deep-nest"
	// OversizedThenAnswer answers tools/call first with a message of
	// [HOSTILE_BIG=2 MiB] that carries the call's id, then with the real
	// answer, text "real".
	OversizedThenAnswer = "oversized-then-answer"
	// OversizedOnly answers tools/call with only a message of [HOSTILE_BIG]
	// that carries the call's id.
	OversizedOnly = "oversized-only"
	// Silent never answers tools/call, not even after a cancellation.
	Silent = "silent"
	// HugePages answers tools/list with pages of [HOSTILE_PAGE_ITEMS=50000]
	// tools, each page with a new cursor ("page-1", "page-2", …), without
	// end.
	HugePages = "huge-pages"
	// RepeatCursor answers every tools/list page with nextCursor "again".
	RepeatCursor = "repeat-cursor"
	// SlowList answers tools/list after 5 seconds.
	SlowList = "slow-list"
	// HeaderTools lists, beside "fine", the tool "odd_header" whose
	// x-mcp-header annotation is on an object property, which go-sdk drops.
	HeaderTools = "header-tools"
	// BadAnnotations lists one tool, "odd", whose readOnlyHint is the string
	// "yes", which go-sdk cannot decode.
	BadAnnotations = "bad-annotations"
	// OwnError answers tools/call with its own JSON-RPC error, code -32099
	// and message "backend down".
	OwnError = "own-error"
	// AnswerThenExit answers tools/call with a text of [HOSTILE_BIG] bytes,
	// then returns at once (its test binary then exits with status 0).
	AnswerThenExit = "answer-then-exit"
	// LongStrings declares a serverInfo name, title and version and
	// instructions of [HOSTILE_BIG] each, lists 8 tools, 7 of them with a
	// description of [HOSTILE_BIG], and answers tools/call with a JSON-RPC
	// error whose message is [HOSTILE_BIG] long.
	LongStrings = "long-strings"
	// EscapedEcho answers tools/call by sending [HOSTILE_SECRET] back
	// escaped as no Go encoder would: in a log notification with every "/"
	// as \/, in a line of stdout that is not JSON and in the result (text
	// and structured content) with every character as \uXXXX; and as it
	// is in a log notification of more than 16 KiB (which encoding/json
	// escapes in turn when it holds & < > or control characters).
	EscapedEcho = "escaped-echo"
	// BadVersion answers initialize with protocolVersion "1999-01-01".
	BadVersion = "bad-version"
	// CloseStdout answers initialize, then closes its stdout and runs on
	// for a minute.
	CloseStdout = "close-stdout"
	// CloseStdoutOnCall is CloseStdout on tools/call.
	CloseStdoutOnCall = "close-stdout-on-call"
	// Mute never answers, not even initialize, and ignores SIGTERM and the
	// end of its stdin for a minute.
	Mute = "mute"
	// Stubborn serves like the others, but ignores SIGTERM and runs on for
	// a minute once its stdin ends: closing it takes a SIGKILL.
	Stubborn = "stubborn"
	// SetsidDaemon starts a daemon that leaves its process group (a double
	// fork with setsid, so the daemon's parent is gone), writes "daemon pid
	// N" to stderr, and serves.
	SetsidDaemon = "setsid-daemon"
	// SetsidChild starts a child that leaves its process group (setsid)
	// with an environment of only Behaviour, so nothing it inherited marks
	// it; writes "daemon pid N" to stderr, and serves.
	SetsidChild = "setsid-child"
	// WireExtras sends what go-sdk's structs drop or round, as the
	// constants in wire.go hold it: capabilities and serverInfo with
	// unknown keys, a tool with icons, execution, _meta, x-vendor and JSON
	// Schema 2020-12 keywords, and a tools/call result with integers past
	// 2^53, unknown fields and _meta.
	WireExtras = "wire-extras"
	// Stragglers starts a child in its own process group and a setsid
	// daemon (with the environment it inherited), writes "member pid N" and "daemon pid N" to stderr, and
	// serves.
	Stragglers = "stragglers"
)

// DaemonSecret is on the command line of the daemons SetsidDaemon,
// SetsidChild and Stragglers start, for tests that it is masked.
const DaemonSecret = "sk-daemon-SECRET-42"

// The daemons' own behaviours: daemonize starts a daemon and writes its pid
// to stdout; daemon sleeps a minute.
const (
	daemonize = "daemonize"
	daemon    = "daemon"
)

// startDaemon starts the test binary as a daemon ("hostile-daemon
// --api-key=DaemonSecret" on its command line) with env, and returns its pid.
func startDaemon(env []string, setsid bool) (int, error) {
	cmd := exec.Command(os.Args[0], "hostile-daemon", "--api-key="+DaemonSecret)
	cmd.Env = append(env, Behaviour+"="+daemon)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	return cmd.Process.Pid, nil
}

// withoutBehaviour returns the environment without Behaviour.
func withoutBehaviour() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, Behaviour+"=") })
}

// startStrays starts the processes behaviour leaves behind, and writes their
// pids to stderr. It reports whether the behaviour is one of the daemons'
// own, which is then done.
func startStrays(behaviour string) (done bool) {
	switch behaviour {
	case daemon:
		time.Sleep(time.Minute)
		return true
	case daemonize:
		pid, err := startDaemon(withoutBehaviour(), true)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(pid)
		return true
	case SetsidDaemon:
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(withoutBehaviour(), Behaviour+"="+daemonize)
		out, err := cmd.Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "daemonize:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "daemon pid %s", out)
	case SetsidChild, Stragglers:
		env := []string{}
		if behaviour == Stragglers {
			env = withoutBehaviour()
		}
		pid, err := startDaemon(env, true)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "daemon pid %d\n", pid)
		if behaviour == Stragglers {
			pid, err := startDaemon(withoutBehaviour(), false)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fmt.Fprintf(os.Stderr, "member pid %d\n", pid)
		}
	}
	return false
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// Main serves behaviour on in and out until in ends.
func Main(behaviour string, in io.Reader, stdout io.Writer) {
	big := envInt("HOSTILE_BIG", 2<<20)
	if startStrays(behaviour) {
		return
	}
	if behaviour == Mute {
		signal.Ignore(syscall.SIGTERM)
		_, _ = io.Copy(io.Discard, in)
		time.Sleep(time.Minute)
		return
	}
	if behaviour == Stubborn {
		signal.Ignore(syscall.SIGTERM)
		defer time.Sleep(time.Minute)
	}
	closeStdout := func() {
		if c, ok := stdout.(io.Closer); ok {
			_ = c.Close()
		}
		time.Sleep(time.Minute)
	}
	if n := envInt("HOSTILE_STDERR_LINE", 0); n > 0 {
		line := strings.Repeat("e", n)
		if secret := os.Getenv("HOSTILE_SECRET"); secret != "" {
			line += secret + " and more"
		}
		fmt.Fprintln(os.Stderr, line)
	}
	w := bufio.NewWriterSize(stdout, 64<<10)
	send := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		w.Write(b)
		w.WriteByte('\n')
		w.Flush()
	}
	answer := func(id json.RawMessage, result any) {
		send(map[string]any{"jsonrpc": "2.0", "id": id, "result": result})
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	page := 0
	for sc.Scan() {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Meta struct {
					ProgressToken any `json:"progressToken"`
				} `json:"_meta"`
			} `json:"params"`
		}
		if json.Unmarshal(sc.Bytes(), &req) != nil || req.ID == nil {
			continue
		}
		switch req.Method {
		case "initialize":
			info := map[string]any{"name": "hostile", "version": "0"}
			version := "2025-06-18"
			if behaviour == BadVersion {
				version = "1999-01-01"
			}
			result := map[string]any{
				"protocolVersion": version,
				"capabilities":    map[string]any{"tools": map[string]any{}, "logging": map[string]any{}},
				"serverInfo":      info,
			}
			if behaviour == WireExtras {
				result["capabilities"] = json.RawMessage(WireCapabilities)
				result["serverInfo"] = json.RawMessage(WireServerInfo)
			}
			if behaviour == LongStrings {
				info["name"] = strings.Repeat("n", big)
				info["title"] = strings.Repeat("t", big)
				info["version"] = strings.Repeat("v", big)
				result["instructions"] = strings.Repeat("i", big)
			}
			answer(req.ID, result)
			if behaviour == CloseStdout {
				closeStdout()
				return
			}
		case "tools/list":
			if behaviour == HugePages {
				page++
			}
			answer(req.ID, toolsPage(behaviour, page, big))
		case "resources/list", "resources/templates/list", "prompts/list", "resources/read", "prompts/get":
			if behaviour != WireExtras {
				answer(req.ID, map[string]any{})
				break
			}
			answer(req.ID, wireList(req.Method))
		case "tools/call":
			if behaviour == CloseStdoutOnCall {
				closeStdout()
				return
			}
			call(behaviour, req.ID, req.Params.Meta.ProgressToken, big, w, send, answer)
			if behaviour == AnswerThenExit {
				return
			}
		default:
			answer(req.ID, map[string]any{})
		}
	}
}

// wireList is WireExtras' answer to a list method, resources/read or
// prompts/get.
func wireList(method string) any {
	switch method {
	case "resources/list":
		return map[string]any{"resources": []any{json.RawMessage(WireResource)}}
	case "resources/templates/list":
		return map[string]any{"resourceTemplates": []any{json.RawMessage(WireTemplate)}}
	case "resources/read":
		return json.RawMessage(WireReadResult)
	case "prompts/get":
		return json.RawMessage(WirePromptResult)
	}
	return map[string]any{"prompts": []any{json.RawMessage(WirePrompt)}}
}

// toolsPage is behaviour's answer to tools/list; page counts HugePages'
// pages from 1.
func toolsPage(behaviour string, page, big int) map[string]any {
	tool := func(name string) map[string]any {
		return map[string]any{"name": name, "inputSchema": map[string]any{"type": "object"}}
	}
	switch behaviour {
	case HugePages:
		tools := make([]any, envInt("HOSTILE_PAGE_ITEMS", 50000))
		for i := range tools {
			tools[i] = tool(fmt.Sprintf("t%d_%d", page, i))
		}
		return map[string]any{"tools": tools, "nextCursor": "page-" + strconv.Itoa(page)}
	case LongStrings:
		tools := make([]any, 8)
		for i := range tools {
			t := tool(fmt.Sprintf("long_%d", i))
			t["description"] = strings.Repeat("d", big)
			tools[i] = t
		}
		tools[0] = tool(Tool)
		return map[string]any{"tools": tools}
	case RepeatCursor:
		return map[string]any{"tools": []any{tool(Tool)}, "nextCursor": "again"}
	case SlowList:
		time.Sleep(5 * time.Second)
	case HeaderTools:
		odd := tool("odd_header")
		odd["inputSchema"] = map[string]any{"type": "object", "properties": map[string]any{
			"where": map[string]any{"type": "object", "x-mcp-header": "X-Where"},
		}}
		return map[string]any{"tools": []any{tool("fine"), odd}}
	case WireExtras:
		return map[string]any{"tools": []any{json.RawMessage(WireTool)}}
	case BadAnnotations:
		odd := tool("odd")
		odd["annotations"] = map[string]any{"readOnlyHint": "yes"}
		return map[string]any{"tools": []any{odd}}
	}
	return map[string]any{"tools": []any{tool(Tool)}}
}

func call(behaviour string, id json.RawMessage, token any, big int, w *bufio.Writer, send func(any), answer func(json.RawMessage, any)) {
	text := func(s string) any {
		return map[string]any{"content": []any{map[string]any{"type": "text", "text": s}}}
	}
	switch behaviour {
	case LogFlood:
		data := strings.Repeat("L", envInt("HOSTILE_LOG_BYTES", 4<<20))
		for i := range envInt("HOSTILE_PROGRESS", 0) {
			send(map[string]any{"jsonrpc": "2.0", "method": "notifications/progress", "params": map[string]any{
				"progressToken": token, "progress": i, "message": data,
			}})
		}
		for range envInt("HOSTILE_LOGS", 60) {
			send(map[string]any{"jsonrpc": "2.0", "method": "notifications/message", "params": map[string]any{
				"level": "info", "logger": "flood", "data": data,
			}})
		}
		answer(id, text("done"))
	case DeepNest:
		const depth = 100_000
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"content":[],"structuredContent":{"deep":%s%s}}}`+"\n",
			id, strings.Repeat("[", depth), strings.Repeat("]", depth))
		w.Flush()
	case OversizedThenAnswer, OversizedOnly:
		answer(id, text(strings.Repeat("o", big)))
		if behaviour == OversizedThenAnswer {
			answer(id, text("real"))
		}
	case Silent:
	case EscapedEcho:
		secret := os.Getenv("HOSTILE_SECRET")
		var unicode strings.Builder
		for _, r := range secret {
			fmt.Fprintf(&unicode, `\u%04x`, r)
		}
		fmt.Fprintf(w, `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"token is %s"}}`+"\n", strings.ReplaceAll(secret, "/", `\/`))
		fmt.Fprintf(w, "not json: token is %s\n", unicode.String())
		send(map[string]any{"jsonrpc": "2.0", "method": "notifications/message", "params": map[string]any{
			"level": "info", "data": map[string]any{"message": "token is " + secret + " " + strings.Repeat("p", 20<<10)},
		}})
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"token is %s"}],"structuredContent":{"t":"%s"}}}`+"\n", id, unicode.String(), unicode.String())
		w.Flush()
	case LongStrings:
		send(map[string]any{"jsonrpc": "2.0", "id": id, "error": map[string]any{"code": -32603, "message": strings.Repeat("e", big)}})
	case OwnError:
		send(map[string]any{"jsonrpc": "2.0", "id": id, "error": map[string]any{"code": -32099, "message": "backend down"}})
	case AnswerThenExit:
		answer(id, text(strings.Repeat("z", big)))
	case WireExtras:
		answer(id, json.RawMessage(WireCallResult))
	default:
		answer(id, text("ok"))
	}
}
