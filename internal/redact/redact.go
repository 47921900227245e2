// Package redact keeps secrets out of everything the tester shows: header
// values, bearer tokens, environment values, URL user-info and query values
// whose names look secret.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Mask replaces every secret.
const Mask = "***"

// minSecretLen is the shortest value Scrub replaces inside free text; shorter
// values ("1", "on") would mangle unrelated text and reveal nothing useful.
const minSecretLen = 4

// secretWords are the name fragments that make a query parameter, an
// argument or a header look secret.
var secretWords = []string{
	"token", "key", "secret", "password", "passwd", "pwd", "auth", "sig",
	"credential", "session", "cookie", "private", "bearer", "jwt",
}

// IsSecretName reports whether a parameter, header or argument name looks
// like it carries a secret ("api_key", "X-Auth-Token", "signature").
func IsSecretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// URL returns raw with its user-info and secret-looking query values masked.
// A string that does not parse as a URL with a scheme is returned unchanged.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return raw
	}
	userinfo := u.User != nil
	u.User = nil
	if u.RawQuery != "" {
		q := u.Query()
		for name, vals := range q {
			if IsSecretName(name) {
				for i := range vals {
					vals[i] = Mask
				}
			}
		}
		u.RawQuery = strings.ReplaceAll(q.Encode(), url.QueryEscape(Mask), Mask)
	}
	if userinfo {
		return strings.Replace(u.String(), "://", "://"+Mask+"@", 1)
	}
	return u.String()
}

// URLSecrets returns the secret parts of raw (user-info and secret-looking
// query values), for a Secrets set. User-info counts in the form an HTTP
// client sends it too: the base64 of an Authorization: Basic header.
func URLSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	var out []string
	if u.User != nil {
		user := u.User.Username()
		p, _ := u.User.Password()
		out = append(out, user)
		if p != "" {
			out = append(out, p)
		}
		out = append(out, base64.StdEncoding.EncodeToString([]byte(user+":"+p)))
	}
	for name, vals := range u.Query() {
		if IsSecretName(name) {
			out = append(out, vals...)
		}
	}
	return out
}

// ConnectionSecrets returns the secret values among what a connection to a
// target is given: env values and header values whose names look secret
// (Authorization and Cookie included; and the token of an "Bearer xyz"-style
// value), the bearer token, and the URL's secret parts. A plain header
// (X-Tenant: example) is not secret: masking "example" everywhere would
// mangle URIs, names and echoed text.
func ConnectionSecrets(rawURL string, env, headers map[string]string, bearerToken string) []string {
	var out []string
	for name, v := range env {
		if IsSecretName(name) {
			out = append(out, v)
		}
	}
	for name, v := range headers {
		if !IsSecretName(name) {
			continue
		}
		out = append(out, v)
		if _, tok, ok := strings.Cut(v, " "); ok {
			out = append(out, tok)
		}
		if strings.Contains(strings.ToLower(name), "cookie") {
			for c := range strings.SplitSeq(v, ";") {
				if _, val, ok := strings.Cut(c, "="); ok {
					out = append(out, strings.TrimSpace(val))
				}
			}
		}
	}
	out = append(out, bearerToken)
	return append(out, URLSecrets(rawURL)...)
}

// Value returns a deep copy of v (decoded JSON: maps, slices and scalars) in
// which the values of secret-looking keys are masked.
func Value(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if IsSecretName(k) {
				if _, isObj := x.(map[string]any); !isObj {
					out[k] = Mask
					continue
				}
			}
			out[k] = Value(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = Value(x)
		}
		return out
	default:
		return v
	}
}

// Secrets is a set of literal secret values to scrub from free text (error
// messages, stderr, URLs). The zero value is empty and ready to use; it is
// safe for concurrent use.
type Secrets struct {
	mu     sync.RWMutex
	values []string // guarded by mu; longest first, so overlapping secrets mask fully
}

// Add records values as secret. Values shorter than four characters are
// ignored.
func (s *Secrets) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A new slice each time, so that Values' callers keep a stable one.
	vals := slices.Clone(s.values)
	for _, v := range values {
		if len(v) >= minSecretLen && !slices.Contains(vals, v) {
			vals = append(vals, v)
		}
	}
	slices.SortFunc(vals, func(a, b string) int { return len(b) - len(a) })
	s.values = vals
}

// Values returns the recorded secrets, longest first. The caller must not
// modify the slice.
func (s *Secrets) Values() []string {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.values
}

// Scrub returns text with every recorded secret (and its URL-escaped form)
// replaced by Mask.
func (s *Secrets) Scrub(text string) string {
	if s == nil {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, v := range s.values {
		text = strings.ReplaceAll(text, v, Mask)
		if esc := url.QueryEscape(v); esc != v {
			text = strings.ReplaceAll(text, esc, Mask)
		}
	}
	return text
}

// ScrubJSON masks secrets inside the string literals of the JSON document b,
// and nowhere else, so that the document stays valid whatever the secrets
// are. A literal is scrubbed after decoding, so a secret is found however
// the sender escaped it (\u0041, \/). b is returned unchanged when it holds
// no secret.
func (s *Secrets) ScrubJSON(b []byte) []byte {
	secrets := s.Values()
	if len(secrets) == 0 {
		return b
	}
	// Quick checks against each secret's raw and URL-escaped forms; only a
	// literal that contains one, or any escape, is decoded and re-encoded.
	var forms [][]byte
	for _, v := range secrets {
		forms = append(forms, []byte(v))
		forms = append(forms, []byte(url.QueryEscape(v)))
	}
	var out []byte // nil until something is masked
	copied := 0    // b[:copied] has been copied to out
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		j := i + 1
		escaped := false
		for j < len(b) && b[j] != '"' {
			if b[j] == '\\' {
				escaped = true
				j++
			}
			j++
		}
		if j >= len(b) {
			break
		}
		lit := b[i : j+1]
		if escaped || slices.ContainsFunc(forms, func(f []byte) bool { return bytes.Contains(lit, f) }) {
			var str string
			if err := json.Unmarshal(lit, &str); err == nil {
				if masked := s.Scrub(str); masked != str {
					enc, _ := json.Marshal(masked)
					out = append(out, b[copied:i]...)
					out = append(out, enc...)
					copied = j + 1
				}
			}
		}
		i = j
	}
	if out == nil {
		return b
	}
	return append(out, b[copied:]...)
}

// maxUnescapeLevels is how many layers of JSON string escapes ScrubEscaped
// looks through: JSON text inside a JSON string inside a JSON string.
const maxUnescapeLevels = 3

// ScrubEscaped is Scrub for text that may carry JSON string escapes without
// being a JSON document: an HTTP body, a line a target printed, a log
// message that became a string of JSON text. Scrub alone misses a secret
// written as "\u0074ok" or "a\/b". The text is scrubbed as it is, then with
// its escapes decoded, up to three times; when a decoded form held a secret
// the masked decoded form is returned (so that nothing re-escapes into a
// secret), else the text scrubbed as it is.
func (s *Secrets) ScrubEscaped(text string) string {
	if len(s.Values()) == 0 {
		return text
	}
	plain := s.Scrub(text)
	cur, found := plain, false
	for range maxUnescapeLevels {
		u, ok := unescapeJSON(cur)
		if !ok {
			break
		}
		masked := s.Scrub(u)
		found = found || masked != u
		cur = masked
	}
	if found {
		return cur
	}
	return plain
}

// unescapeJSON decodes the JSON string escapes in s (\uXXXX with surrogate
// pairs, \/ \" \\ \b \f \n \r \t) wherever they are, leaving every other
// backslash as it is. ok is false when s has no escape to decode.
func unescapeJSON(s string) (string, bool) {
	if !strings.Contains(s, `\`) {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	changed := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		if r, ok := simpleEscapes[s[i+1]]; ok {
			b.WriteByte(r)
			i++
			changed = true
			continue
		}
		if r, ok := hex4(s, i+1); ok {
			i += 5 // s[i] is the last hex digit
			if r2, ok := hex4(s, i+2); ok && utf16.IsSurrogate(r) && s[i+1] == '\\' {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				}
			}
			b.WriteRune(r)
			changed = true
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), changed
}

// simpleEscapes maps the character after a backslash to what it stands for.
var simpleEscapes = map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// hex4 decodes the "uXXXX" at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+5 > len(s) || s[i] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseUint(s[i+1:i+5], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}
