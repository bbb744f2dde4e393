package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them, except
// two of fasthttp's (under Fiber): the process-wide goroutine that refreshes
// the cached Date header every second and never stops, and a worker pool's
// cleaner, which notices a shutdown only after its idle period (10 s by
// default). Neither is entraguard's.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}
