//go:build unix

package memory_test

import (
	"syscall"
	"time"
)

// processCPUTime returns the CPU time (user and system) the process has used.
// On a machine shared with other work, wall-clock rates measure the
// neighbours as much as the code; CPU time does not.
func processCPUTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
