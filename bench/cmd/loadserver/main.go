// Command loadserver serves, for each framework entraguard supports, a tiny
// API with an unprotected /bare and a protected /protected endpoint on its
// own loopback port, validating tokens of an embedded fake Entra authority
// (entratest). It prints a token and the URLs, and writes them as JSON to
// -info for loadgen. It stops on SIGINT/SIGTERM, or by itself after -max.
//
//	loadserver -info /tmp/entraguard-load.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/entraguard/entraguard/bench/internal/apps"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

type info struct {
	Token   string   `json:"token"`
	Servers []server `json:"servers"`
}

type server struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

func main() {
	infoPath := flag.String("info", "", "write the token and server URLs to this JSON file once serving")
	only := flag.String("frameworks", strings.Join(apps.Frameworks, ","), "comma-separated frameworks to serve")
	maxLife := flag.Duration("max", 15*time.Minute, "stop by itself after this long")
	flag.Parse()

	authority := entratest.NewServer()
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config()) // token cache on (the default)
	if err != nil {
		fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err = v.Ready(ctx)
	cancel()
	if err != nil {
		fatal(err)
	}

	out := info{Token: authority.UserToken(apps.Scope, "Orders.Write")}
	var stops []func()
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	for _, name := range strings.Split(*only, ",") {
		name = strings.TrimSpace(name)
		url, stop, err := apps.Start(name, v)
		if err != nil {
			fatal(err)
		}
		stops = append(stops, stop)
		out.Servers = append(out.Servers, server{Name: name, URL: url})
		fmt.Printf("%-8s %s/bare  %s/protected\n", name, url, url)
	}
	fmt.Printf("token (%d bytes, scp %q): %s\n", len(out.Token), apps.Scope+" Orders.Write", out.Token)

	if *infoPath != "" {
		raw, _ := json.MarshalIndent(out, "", "  ")
		tmp := filepath.Join(filepath.Dir(*infoPath), "."+filepath.Base(*infoPath)+".tmp")
		if err := os.WriteFile(tmp, raw, 0o600); err != nil {
			fatal(err)
		}
		if err := os.Rename(tmp, *infoPath); err != nil {
			fatal(err)
		}
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-sig:
	case <-time.After(*maxLife):
		fmt.Fprintln(os.Stderr, "loadserver: -max reached, stopping")
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loadserver:", err)
	os.Exit(1)
}
