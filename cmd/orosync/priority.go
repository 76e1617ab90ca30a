package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// lowerPriority raises the niceness of every thread of this process to nice (threads started later inherit it
// from the thread that starts them); a process already nicer than that is left as it is. Linux schedules threads,
// not processes, hence one call per thread.
func lowerPriority(nice int) error {
	if nice <= 0 {
		return nil
	}
	// The raw getpriority system call answers 20 - niceness.
	now, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		return fmt.Errorf("reading the process's priority: %w", err)
	}
	if 20-now >= nice {
		return nil
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("listing the process's threads: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil && err != syscall.ESRCH {
			return fmt.Errorf("lowering thread %d's priority to niceness %d: %w", tid, nice, err)
		}
	}
	return nil
}
