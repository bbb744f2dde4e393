package entraredis

import (
	"context"

	entra "github.com/entraguard/entraguard/core"
)

// RevokeVersion is Store.Revoke, which also returns the list's new version
// (the failover tests compare histories).
func (s *Store) RevokeVersion(ctx context.Context, r entra.Revocation) (entra.Revocation, int64, error) {
	return s.revoke(ctx, r)
}
