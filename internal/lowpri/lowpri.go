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

// Do runs f on a thread of its own at priority Nice and returns when f
// does; a panic in f is raised again in the caller.
func Do(f func()) {
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
