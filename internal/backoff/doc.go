// Package backoff is chronicle's one back-off and its one context-aware
// sleep, shared by every retry loop: a projection retrying a failing event,
// a saga engine retrying a batch or a send, the event store's subscription
// and LISTEN connection, the command bus's conflict retry, the lease
// pollers and the relay.
//
// # Jitter
//
// A [Backoff] doubles its nominal pause from Min up to Max, and draws each
// pause at random below the nominal one, so that many processes failing
// together (a database restart) do not retry in lock-step. The configured
// bounds keep their meaning: no pause is longer than Max, and with the
// default [Equal] jitter none is shorter than Min — the first pause is
// exactly Min, later ones are drawn from the upper half of their nominal
// value (never below Min). [Full] jitter draws from the whole range above
// zero, for contention (the command bus's conflict retry), where spreading
// competitors out matters more than a minimum pause.
package backoff
