package exampleserver

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStopReader(t *testing.T) {
	t.Run("reads pass through until stopped", func(t *testing.T) {
		r := newStopReader(strings.NewReader("hello"))
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		assert.Equal(t, "hello", string(got))
	})

	t.Run("a stopped reader blocks without reading until closed", func(t *testing.T) {
		under := strings.NewReader("unread")
		r := newStopReader(under)
		r.stop()
		type result struct {
			n   int
			err error
		}
		done := make(chan result, 1)
		go func() {
			n, err := r.Read(make([]byte, 10))
			done <- result{n, err}
		}()
		require.NoError(t, r.Close())
		got := <-done
		assert.Equal(t, 0, got.n)
		assert.ErrorIs(t, got.err, io.EOF)
		assert.Equal(t, 6, under.Len(), "the underlying reader was read")
	})

	t.Run("close is idempotent", func(t *testing.T) {
		r := newStopReader(strings.NewReader(""))
		require.NoError(t, r.Close())
		require.NoError(t, r.Close())
	})
}

func TestJunkWriter(t *testing.T) {
	var out bytes.Buffer
	w := &junkWriter{w: &out}

	n, err := w.Write([]byte("{\"jsonrpc\":\"2.0\"}\n"))
	require.NoError(t, err)
	assert.Equal(t, 18, n, "n counts only the message")
	_, err = w.Write([]byte("{}\n"))
	require.NoError(t, err)
	assert.Equal(t, "debug: handled a request\n{\"jsonrpc\":\"2.0\"}\ndebug: handled a request\n{}\n", out.String())
}
