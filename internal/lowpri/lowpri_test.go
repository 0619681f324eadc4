package lowpri

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDoRunsAtLowPriority(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := priority()
	if err != nil {
		t.Fatal(err)
	}
	var inside int
	Do(func() { inside, err = priority() })
	if err != nil {
		t.Fatal(err)
	}
	if inside != Nice {
		t.Errorf("work ran at nice %d, want %d", inside, Nice)
	}
	after, _ := priority()
	if after != before {
		t.Errorf("the caller's thread went from nice %d to %d", before, after)
	}
}

func TestDoPassesPanicsOn(t *testing.T) {
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recovered %v, want boom", r)
		}
	}()
	Do(func() { panic("boom") })
	t.Error("Do returned after a panic")
}

func TestReserve(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	defer func() { runtime.GOMAXPROCS(before); slots = make(chan struct{}, 1) }()
	n := Reserve()
	if n < 1 || Slots() != n {
		t.Fatalf("Reserve = %d, Slots = %d", n, Slots())
	}
	if got := runtime.GOMAXPROCS(0); os.Getenv("GOMAXPROCS") == "" && got != before+n {
		t.Errorf("GOMAXPROCS %d after Reserve, want %d + %d", got, before, n)
	}
	// n pieces of work run at once, no more.
	var running, most atomic.Int32
	var wg sync.WaitGroup
	for range 4 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			Do(func() {
				r := running.Add(1)
				for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
				}
				time.Sleep(5 * time.Millisecond)
				running.Add(-1)
			})
		}()
	}
	wg.Wait()
	if most.Load() > int32(n) {
		t.Errorf("%d pieces of work ran at once, want at most %d", most.Load(), n)
	}
}
