package saga

import "context"

// Subscribe runs the engine's subscription under lease, for tests of how it
// ends.
func Subscribe(ctx context.Context, e *Engine, lease Lease) error { return e.subscribe(ctx, lease) }
