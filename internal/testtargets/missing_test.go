package testtargets

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAMissingTargetSkipsOutsideCI(t *testing.T) {
	t.Setenv("CI", "")
	var skipped bool
	t.Run("a test whose target is missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		requireFile(t, filepath.Join(t.TempDir(), "no-such-target"), true)
	})
	assert.True(t, skipped, "outside CI a missing target skips, naming make deps")
}
