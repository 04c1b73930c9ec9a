// Package telemetry is the OpenTelemetry plumbing every instrumented
// chronicle package shares: tracers that cost nothing while no SDK is
// installed, the W3C trace context kept in an event's metadata, the
// attribute keys, and instruments built from a provider that may be nil
// (the global one).
//
// It uses the OpenTelemetry API only (go.opentelemetry.io/otel, its trace,
// metric and propagation packages); applications install an SDK.
//
// # Cost without an SDK
//
// The global providers are no-ops until an application installs an SDK,
// but a no-op tracer still allocates a context and a span per Start.
// [Tracer.Start] sees the uninstalled global provider (and the no-op
// provider) and returns the context unchanged with a span that does
// nothing, so an append or a command allocates nothing more than before.
// Instruments are checked with their Enabled method before measuring.
package telemetry
