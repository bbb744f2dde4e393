//go:build !linux

package entra_test

import "time"

func threadCPU() (time.Duration, bool) { return 0, false }

func threadFaults() (int64, bool) { return 0, false }
