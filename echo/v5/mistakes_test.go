package entraecho_test

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// syncBuffer is a log sink safe to read while the validator writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// loggedValidator is a ready validator for srv whose logger writes to logs.
func loggedValidator(t *testing.T, srv *entratest.Server, logs *syncBuffer) *entra.Validator {
	t.Helper()
	cfg := srv.Config()
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	v, err := entra.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	return v
}
