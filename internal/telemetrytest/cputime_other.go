//go:build !unix

package telemetrytest

import "time"

func cpuTime() (time.Duration, bool) { return 0, false }
