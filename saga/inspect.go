package saga

import "context"

// Instances lists this saga's instances per q (see [Inspector.Instances]).
func (e *Engine) Instances(ctx context.Context, q Query) ([]Instance, error) {
	return e.store.Instances(ctx, e.Name(), q)
}

// Count returns how many instances are in each status.
func (e *Engine) Count(ctx context.Context) (map[Status]int, error) {
	return e.store.Count(ctx, e.Name())
}

// History returns one instance's record: its state, the events it handled
// or ignored, its steps, the commands and compensations queued and sent,
// its deadlines and parked events.
func (e *Engine) History(ctx context.Context, id string) (History, error) {
	return e.store.History(ctx, e.Name(), id)
}

// Parked lists the events this saga parked, with their errors.
func (e *Engine) Parked(ctx context.Context) ([]Parked, error) {
	return e.store.ParkedEvents(ctx, e.Name())
}

// FailingCommands lists the unsent commands whose sends failed and are being
// retried, with their last errors.
func (e *Engine) FailingCommands(ctx context.Context) ([]Command, error) {
	return e.store.FailingCommands(ctx, e.Name())
}
