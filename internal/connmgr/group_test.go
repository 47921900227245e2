package connmgr

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGroup(t *testing.T) {
	t.Run("wait returns once every goroutine started has returned", func(t *testing.T) {
		var g group
		release := make(chan struct{})
		ran := make(chan struct{}, 2)
		for range 2 {
			require.True(t, g.start(func() { <-release; ran <- struct{}{} }))
		}
		close(release)
		assert.True(t, g.wait(5*time.Second))
		assert.Len(t, ran, 2)
	})
	t.Run("a closed group starts nothing", func(t *testing.T) {
		var g group
		require.True(t, g.wait(time.Second))
		assert.False(t, g.start(func() { t.Error("started after wait") }))
	})
	t.Run("wait gives up at its deadline on a goroutine that does not return", func(t *testing.T) {
		var g group
		release := make(chan struct{})
		require.True(t, g.start(func() { <-release }))
		assert.False(t, g.wait(20*time.Millisecond))
		close(release)
		assert.True(t, g.wait(5*time.Second), "and a later wait sees it end")
	})
}
