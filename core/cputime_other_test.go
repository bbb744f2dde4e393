//go:build !unix

package entra_test

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
