package entrafiber_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// fasthttp starts one process-wide goroutine, the first time a server
	// writes a response, that refreshes the cached Date header every second
	// and never stops (fasthttp header.go, updateServerDate). It is not ours.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"))
}
