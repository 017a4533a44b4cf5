// Package linger runs functions on goroutines that wait a while for more
// work before they end.
//
// A goroutine started for each PDU begins with a small stack and grows it
// through the PDU codec every time: a tenth of the SMSC simulator's CPU
// answering pushes. A goroutine that has just finished such work has its
// stack grown already; handing it the next function costs a channel send.
package linger

import (
	"sync"
	"time"
)

// Group runs functions on lingering goroutines. The zero Group is not
// usable; call New.
type Group struct {
	idle time.Duration
	work chan func() // to a goroutine waiting for more
	quit chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// New returns a Group whose goroutines wait up to idle for more work.
func New(idle time.Duration) *Group {
	return &Group{idle: idle, work: make(chan func()), quit: make(chan struct{})}
}

// Go runs f on a goroutine of the group: one waiting for work if there is
// one, else a new one. Go must not be called after Close.
func (g *Group) Go(f func()) {
	select {
	case g.work <- f:
	default:
		g.wg.Add(1)
		go g.run(f)
	}
}

func (g *Group) run(f func()) {
	defer g.wg.Done()
	idle := time.NewTimer(g.idle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(g.idle)
		select {
		case f = <-g.work:
		case <-idle.C:
			return
		case <-g.quit:
			return
		}
	}
}

// Close ends the goroutines waiting for work; those running a function end
// when it returns. Safe to call twice.
func (g *Group) Close() { g.once.Do(func() { close(g.quit) }) }

// Wait waits for every goroutine of the group to end: after Close, for the
// functions running to return.
func (g *Group) Wait() { g.wg.Wait() }
