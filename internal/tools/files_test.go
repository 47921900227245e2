package tools

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestARemoteTesterTouchesNoFileSwappedAfterTheCheck opens paths that
// clientPath would have passed a moment before: each was a regular file
// (or directory) inside the workdir, then became a symlink, or a FIFO,
// before the file was opened.
func TestARemoteTesterTouchesNoFileSwappedAfterTheCheck(t *testing.T) {
	outside, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	secret := filepath.Join(outside, "shadow")
	require.NoError(t, os.WriteFile(secret, []byte("SECRETLINE\n"), 0o600))
	work, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(work, "good.yaml"), []byte("steps: []\n"), 0o600))
	require.NoError(t, os.Symlink(secret, filepath.Join(work, "swapped.yaml")))
	require.NoError(t, os.Symlink(outside, filepath.Join(work, "sub")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(work, "fifo.yaml"), 0o600))
	h := &handlers{remote: true, workdir: work}

	t.Run("a regular file inside is read", func(t *testing.T) {
		b, err := h.readClientFile(filepath.Join(work, "good.yaml"))
		require.NoError(t, err)
		assert.Equal(t, "steps: []\n", string(b))
	})
	t.Run("a file swapped for a symlink is not read", func(t *testing.T) {
		b, err := h.readClientFile(filepath.Join(work, "swapped.yaml"))
		require.Error(t, err)
		assert.Empty(t, b)
	})
	t.Run("a file in a directory swapped for a symlink is not read", func(t *testing.T) {
		b, err := h.readClientFile(filepath.Join(work, "sub", "shadow"))
		require.ErrorIs(t, err, errOutsideWorkdir)
		assert.Empty(t, b)
	})
	t.Run("a FIFO is refused without blocking", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			_, err := h.readClientFile(filepath.Join(work, "fifo.yaml"))
			done <- err
		}()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, errOutsideWorkdir)
		case <-time.After(10 * time.Second):
			t.Fatal("opening a FIFO blocked")
		}
	})
	t.Run("a file swapped for a symlink is not written through", func(t *testing.T) {
		require.Error(t, h.writeClientFile(filepath.Join(work, "swapped.yaml"), []byte("x")))
		b, err := os.ReadFile(secret)
		require.NoError(t, err)
		assert.Equal(t, "SECRETLINE\n", string(b))
	})
	t.Run("nothing is created in a directory swapped for a symlink", func(t *testing.T) {
		require.Error(t, h.writeClientFile(filepath.Join(work, "sub", "new.yaml"), []byte("x")))
		_, err := os.Lstat(filepath.Join(outside, "new.yaml"))
		assert.ErrorIs(t, err, os.ErrNotExist)
		require.Error(t, h.writeClientFile(filepath.Join(work, "sub", "shadow"), []byte("x")))
		b, err := os.ReadFile(secret)
		require.NoError(t, err)
		assert.Equal(t, "SECRETLINE\n", string(b), "an existing file outside is not truncated")
	})
	t.Run("a file inside is written", func(t *testing.T) {
		require.NoError(t, h.writeClientFile(filepath.Join(work, "good.yaml"), []byte("new")))
		b, err := os.ReadFile(filepath.Join(work, "good.yaml"))
		require.NoError(t, err)
		assert.Equal(t, "new", string(b))
	})
}
