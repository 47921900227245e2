package stats

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecorder(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		apply func(r *Recorder)
		want  func(t *testing.T, s Snapshot)
	}{
		{
			name:  "an empty recorder reports zeros and no last request",
			apply: func(*Recorder) {},
			want: func(t *testing.T, s Snapshot) {
				assert.Equal(t, Snapshot{ByMethod: map[string]MethodSnapshot{}}, s)
			},
		},
		{
			name: "answered requests advance their kind and failures only errors",
			apply: func(r *Recorder) {
				r.Record("tools/call", KindTool, t0, 10*time.Millisecond, false)
				r.Record("tools/call", KindTool, t0, 30*time.Millisecond, true)
				r.Record("resources/read", KindResource, t0, time.Millisecond, false)
				r.Record("prompts/get", KindPrompt, t0.Add(time.Second), 2*time.Millisecond, false)
				r.Record("tools/list", KindOther, t0, 3*time.Millisecond, false)
				r.RecordRefused()
			},
			want: func(t *testing.T, s Snapshot) {
				assert.Equal(t, 1, s.ToolsCalled)
				assert.Equal(t, 1, s.ResourcesAccessed)
				assert.Equal(t, 1, s.PromptsExecuted)
				assert.Equal(t, 2, s.Errors)
				assert.Equal(t, 5, s.Requests)
				require.NotNil(t, s.LastRequestAt)
				assert.Equal(t, t0.Add(time.Second), *s.LastRequestAt)
				assert.Equal(t, MethodSnapshot{Count: 2, Errors: 1, MeanMS: 20, P50MS: 10, P95MS: 30, MaxMS: 30}, s.ByMethod["tools/call"])
			},
		},
		{
			name: "percentiles use nearest rank over the samples",
			apply: func(r *Recorder) {
				for i := 1; i <= 100; i++ {
					r.Record("ping", KindOther, t0, time.Duration(i)*time.Millisecond, false)
				}
			},
			want: func(t *testing.T, s Snapshot) {
				m := s.ByMethod["ping"]
				assert.Equal(t, 100, m.Count)
				assert.InDelta(t, 50.5, m.MeanMS, 0.001)
				assert.InDelta(t, 50.0, m.P50MS, 0.001)
				assert.InDelta(t, 95.0, m.P95MS, 0.001)
				assert.InDelta(t, 100.0, m.MaxMS, 0.001)
			},
		},
		{
			name: "durations are rounded to two decimals of a millisecond",
			apply: func(r *Recorder) {
				r.Record("ping", KindOther, t0, 1234567*time.Nanosecond, false)
			},
			want: func(t *testing.T, s Snapshot) {
				assert.InDelta(t, 1.23, s.ByMethod["ping"].MaxMS, 1e-9)
			},
		},
		{
			name: "past the sample bound percentiles follow recent requests while max keeps the all-time worst",
			apply: func(r *Recorder) {
				r.Record("ping", KindOther, t0, time.Second, false)
				for range maxSamples {
					r.Record("ping", KindOther, t0, time.Millisecond, false)
				}
			},
			want: func(t *testing.T, s Snapshot) {
				m := s.ByMethod["ping"]
				assert.Equal(t, maxSamples+1, m.Count)
				assert.InDelta(t, 1.0, m.P95MS, 1e-9)
				assert.InDelta(t, 1000.0, m.MaxMS, 1e-9)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			tt.apply(r)
			tt.want(t, r.Snapshot())
		})
	}
}

func TestSnapshotIsACopy(t *testing.T) {
	r := New()
	r.Record("ping", KindOther, time.Now(), time.Millisecond, false)
	s := r.Snapshot()
	s.ByMethod["ping"] = MethodSnapshot{Count: 99}
	*s.LastRequestAt = time.Time{}
	again := r.Snapshot()
	assert.Equal(t, 1, again.ByMethod["ping"].Count)
	assert.False(t, again.LastRequestAt.IsZero())
}

func TestRecorderIsSafeForConcurrentUse(t *testing.T) {
	r := New()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				r.Record("tools/call", KindTool, time.Now(), time.Millisecond, false)
				_ = r.Snapshot()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 800, r.Snapshot().ToolsCalled)
}
