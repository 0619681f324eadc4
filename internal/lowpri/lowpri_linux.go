package lowpri

import "syscall"

// lower sets the calling thread's nice value (on Linux a thread is a
// process to setpriority).
func lower() { _ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), Nice) }

// priority returns the calling thread's nice value.
func priority() (int, error) {
	// getpriority returns 20 - nice through the raw system call.
	p, _, errno := syscall.Syscall(syscall.SYS_GETPRIORITY, syscall.PRIO_PROCESS, uintptr(syscall.Gettid()), 0)
	if errno != 0 {
		return 0, errno
	}
	return 20 - int(p), nil
}
