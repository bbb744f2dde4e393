# The entraguard sidecar image: a static binary on a distroless base,
# running as a non-root user. Build from the repository root:
#
#   docker build -f cmd/entraguard/sidecar.Dockerfile -t entraguard-sidecar .
#
# The build stage's command is run by TestDockerfileBuild
# (cmd/entraguard/internal/sidecar), since CI has no Docker engine.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY core/ core/
COPY emulator/ emulator/
COPY otel/ otel/
COPY redis/ redis/
COPY cmd/entraguard/ cmd/entraguard/
WORKDIR /src/cmd/entraguard
RUN CGO_ENABLED=0 GOWORK=off GOFLAGS=-buildvcs=false go build -trimpath -ldflags="-s -w" -o /out/entraguard .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/entraguard /entraguard
USER 65532:65532
# Loopback by default, as on the command line: set ADDR=0.0.0.0:8181 when
# the proxy runs outside the pod (ingress-nginx), keep it for a sidecar.
EXPOSE 8181 9191
ENTRYPOINT ["/entraguard", "sidecar"]
