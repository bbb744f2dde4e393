package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them, except
// three of fasthttp's (Fiber and the benchmarks' fasthttp client): the
// process-wide goroutine that refreshes the cached Date header every second
// and never stops, and the server's worker-pool and the client's connection
// cleaners, which notice a shutdown only after their idle period (10 s by
// default). None is entraguard's.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
	)
}
