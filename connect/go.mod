module github.com/entraguard/entraguard/connect

go 1.26.0

require (
	connectrpc.com/connect v1.21.1
	github.com/entraguard/entraguard/core v0.0.0
	go.uber.org/goleak v1.3.0
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1
	google.golang.org/protobuf v1.36.11
)

require golang.org/x/sync v0.24.0 // indirect

replace github.com/entraguard/entraguard/core => ../core
