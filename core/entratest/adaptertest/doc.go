// Package adaptertest holds entraguard's shared tests for adapters: the
// conformance table ([RunMiddlewareTests], [RunHTTPTests],
// [RunMTLSBindingTests]) that compares an API's answers with the core's
// net/http middleware ([ReferenceAPI]), byte for byte; the behaviour suite
// ([RunAdapterTests]) that every framework adapter runs with one call; its
// counterpart for the RPC adapters ([RunRPCTests]); and
// helpers for refusals ([AssertRefusal], [ReadRefusal], [SameAnswer]) and
// validators ([NewReadyValidator]).
//
// It imports the testing package, so it is only for tests. The fake
// authority itself, package entratest, does not: programs that embed it
// (the entraguard CLI's emulator, the examples) do not link testing.
package adaptertest
