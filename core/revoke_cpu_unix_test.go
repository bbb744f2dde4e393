//go:build unix

package entra_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used: a benchmark figure that
// a machine shared with other jobs does not inflate, unlike wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
