package lowpri

import (
	"runtime"
	"testing"
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
