// Package care360 is the domain of the Care360 Gateway: subscribers, MSISDNs,
// tiers, points and dialogues, with the service interfaces that adapters
// implement (store/) or use (menus/, gateway/, web/). It imports no adapter.
package care360

import "context"

// Pinger reports whether a dependency is reachable; /readyz uses it.
type Pinger interface {
	Ping(ctx context.Context) error
}
