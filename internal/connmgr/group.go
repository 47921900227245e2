package connmgr

import (
	"sync"
	"time"
)

// group owns a set of goroutines: start runs one unless the group is
// closed, and wait closes it and waits for them all, for at most a deadline.
// A closed group starts nothing, so that no goroutine can begin after its
// owner has waited.
type group struct {
	mu     sync.Mutex
	closed bool // guarded by mu; set by wait
	wg     sync.WaitGroup
}

// start runs fn in a goroutine of g, and reports whether it did: it does
// not when g is closed.
func (g *group) start(fn func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		fn()
	}()
	return true
}

// wait closes g and waits for its goroutines, at most d. It reports whether
// they all returned.
func (g *group) wait(d time.Duration) bool {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	return returnsWithin(g.wg.Wait, d)
}

// returnsWithin runs wait, which blocks, and reports whether it returned
// within d. One that did not is left to finish on its own: it must end by
// itself.
func returnsWithin(wait func(), d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait()
	}()
	return closedWithin(done, d)
}

// closedWithin reports whether ch is closed within d; one closed already
// counts whatever d.
func closedWithin(ch <-chan struct{}, d time.Duration) bool {
	if isClosed(ch) {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

// isClosed reports whether ch is closed, without waiting.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
