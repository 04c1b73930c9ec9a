// Package batch is the batching reader every subscriber of the global log
// shares: the projection runner (live and during a rebuild), the saga
// engine, and the broker relay. It reads an event sequence ahead on a
// goroutine and hands the caller batches, so that catch-up runs in full
// batches while a live event waits for no timer.
//
// It lives here, below its users, so that there is one copy of its
// subtle part — how the sequence ends when the caller's context does —
// and one test of it; users outside chronicle call [projection.Batches],
// which delegates to [Subscribe].
//
// [projection.Batches]: https://pkg.go.dev/github.com/chronicle-go/chronicle/projection#Batches
package batch
