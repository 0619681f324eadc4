// Package lowpri runs work on an operating system thread of low scheduling
// priority, so that a report (its SQLite query runs in the calling thread)
// takes what CPU the click and postback paths leave rather than half of
// it. Where threads have no priority of their own the work just runs.
package lowpri

import (
	"os"
	"runtime"
	"strconv"
)

// Nice is the priority of the threads Do runs work on (Linux: 0 is
// normal, 19 the lowest): TRACKD_REPORT_NICE, 10 by default. At 10 such a
// thread gets about a tenth of the CPU of a normal one when both want it.
var Nice = func() int {
	if n, err := strconv.Atoi(os.Getenv("TRACKD_REPORT_NICE")); err == nil && n >= 0 && n <= 19 {
		return n
	}
	return 10
}()

// slots bounds how much low-priority work runs at once; see Reserve.
var slots = make(chan struct{}, 1)

// Reserve gives low-priority work processors of its own: a goroutine
// running on a low-priority thread keeps its Go processor (P) while the
// kernel leaves the thread waiting, so without spare Ps the click path
// would lose one per report. Reserve adds n Ps to GOMAXPROCS (unless the
// GOMAXPROCS environment variable fixes it) and lets n pieces of work run
// at once; it returns n. Call it once, at start, before any Do.
func Reserve() int {
	n := max(1, runtime.GOMAXPROCS(0)/2)
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + n)
	} else {
		n = 1
	}
	slots = make(chan struct{}, n)
	return n
}

// Slots is how many pieces of work Do runs at once.
func Slots() int { return cap(slots) }

// Do runs f on a thread of its own at priority Nice and returns when f
// does, after waiting for a slot (see Reserve); a panic in f is raised
// again in the caller.
func Do(f func()) {
	slots <- struct{}{}
	defer func() { <-slots }()
	var (
		done  = make(chan struct{})
		fault any
	)
	go func() {
		// The thread is never unlocked: it ends with this goroutine
		// instead of going back to the scheduler at a low priority.
		runtime.LockOSThread()
		defer close(done)
		defer func() { fault = recover() }()
		lower()
		f()
	}()
	<-done
	if fault != nil {
		panic(fault)
	}
}
