// Command entraguard runs a local Microsoft Entra ID emulator, gets tokens
// from it (or from Entra ID), and explains why an API refuses a token.
//
// Usage:
//
//	entraguard emulator [flags]              run a local Entra ID emulator until interrupted
//	entraguard token [flags]                 mint a token with the emulator, or fetch one (client credentials)
//	entraguard explain [flags] [TOKEN | -]   show a token and why it is accepted or refused
//	entraguard sidecar [flags]               serve token decisions to proxies and other services
//
// Run "entraguard <command> -h" for a command's flags. Install it with
//
//	go install github.com/entraguard/entraguard/cmd/entraguard@latest
//
// The emulator is for development and tests only: its tokens are worth
// nothing anywhere else, and it is not Microsoft Entra ID.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed: a token refused, an endpoint's error
	exitUsage   = 2 // bad flags or arguments
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// env is what a command reads and writes.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

const usage = `entraguard: a local Entra ID emulator, tokens, and why an API refuses them.

Usage:
  entraguard emulator [flags]              run a local Entra ID emulator until interrupted
  entraguard token [flags]                 mint a token with the emulator, or fetch one (client credentials)
  entraguard explain [flags] [TOKEN | -]   show a token and why it is accepted or refused
  entraguard sidecar [flags]               serve token decisions to proxies and other services

Run "entraguard <command> -h" for a command's flags.
`

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var cmd func(*env, []string) int
	switch args[0] {
	case "emulator":
		cmd = runEmulator
	case "token":
		cmd = runToken
	case "explain":
		cmd = runExplain
	case "sidecar":
		cmd = runSidecar
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "entraguard: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	return cmd(e, args[1:])
}

// parseFlags parses a command's flags; it returns false and the exit code
// when the command should stop (-h, or a bad flag, already reported).
func parseFlags(e *env, fs *flag.FlagSet, args []string) (int, bool) {
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

// fail reports an error of a command and returns code.
func (e *env) fail(code int, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "entraguard: "+format+"\n", args...)
	return code
}

// listFlag is a flag that may be repeated, each value comma-separated.
type listFlag []string

func (l *listFlag) String() string { return fmt.Sprint([]string(*l)) }

func (l *listFlag) Set(v string) error {
	for _, s := range splitComma(v) {
		*l = append(*l, s)
	}
	return nil
}
