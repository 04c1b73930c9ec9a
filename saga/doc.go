// Package saga coordinates long-running workflows across aggregates and
// services: a saga (process manager) reacts to events from the global log,
// keeps its own state, sends commands, waits with deadlines and, when a
// step fails, undoes the completed steps with compensating commands.
//
// # Defining a saga
//
// A [Definition] names the saga type and its state S, the events that start
// an instance ([Start]), the events that continue one ([On]), how an event
// finds its instance (a correlate function, typically returning the order
// ID), the steps with their compensations ([Definition.Step]) and the
// deadline handlers ([Definition.OnDeadline]). A handler receives a
// [Scope]: it changes the state and decides — [Scope.Send] a command,
// [Scope.StepDone], [Scope.Schedule] or [Scope.Cancel] a deadline,
// [Scope.Complete] or [Scope.Fail].
//
// # The engine
//
// An [Engine] follows the global log from its checkpoint, like a
// projection. For each batch of events it loads the instances, runs the
// handlers and writes in ONE [StateStore.Commit]: the new versioned states, the
// outgoing commands (the outbox), deadlines scheduled or cancelled, history
// and the checkpoint. A crash therefore loses nothing and doubles nothing:
// either all of a batch's effects are stored or none, and the batch is
// handled again.
//
// The dispatcher sends the outbox through a [Sender] (a command bus) with
// deterministic IDs ([CommandID]: saga, instance, sequence number), so a
// command resent after a crash is recognised by the bus's idempotency
// and applied once: at-least-once delivery, effectively-once result. A
// failed send is retried with exponential back-off, forever, and listed by
// [Engine.FailingCommands]; it is never dropped. An instance's commands go
// out in the order they were decided.
//
// A handler that keeps failing on an event (after [Config.HandlerAttempts]
// tries), or an event that cannot be decoded, is parked: recorded with its
// error ([Engine.Parked]) and in the instance's history, never skipped
// silently. Events for a finished instance are recorded as ignored.
// Events already handled (at or before the instance's last position) are
// duplicates and change nothing.
//
// # Compensation
//
// [Scope.Fail], or an expired deadline without a handler, queues the
// compensating commands of the done steps, newest first, and moves the
// instance to [Compensating]; once every compensation is sent it becomes
// [Compensated]. A compensation that fails to send is retried and
// surfaced like any command.
//
// # Deadlines
//
// Deadlines are stored with the state in the same commit, fired by a
// scheduler in every process (rows reserved with FOR UPDATE SKIP LOCKED on
// PostgreSQL), and removed when the instance finishes. Time comes from a
// [Clock]; tests use a [ManualClock] and never sleep.
//
// # Several processes
//
// Run an engine per process on one [Store]: one at a time owns the event
// subscription through a lease ([StateStore.Acquire]; on PostgreSQL a session
// advisory lock) whose token fences the checkpoint, the others wait as
// standbys; all of them dispatch and fire deadlines.
//
// # Stores
//
// A [Store] is three interfaces over one storage: a [StateStore] (load,
// the atomic commit of a step, checkpoint and lease), an [Outbox]
// (commands to send and deadlines to fire, handed out under reservations
// that expire) and an [Inspector] (read-only queries). The engine uses all three; a tool that only reads,
// such as the command-line tool, asks for an [Inspector].
// [github.com/chronicle-go/chronicle/saga/postgres] keeps sagas in
// PostgreSQL; [github.com/chronicle-go/chronicle/saga/memory] is the
// in-process store for tests and examples. Both pass the suites of
// [github.com/chronicle-go/chronicle/saga/sagatest]: the store contract
// call by call ([sagatest.Run]) and whole workflows on real engines
// ([sagatest.RunWorkflow]).
//
// # Inspection
//
// [Engine.Instances] and [Engine.Count] list instances by status;
// [Engine.History] returns one instance's state, handled and ignored
// events with the decisions each led to, commands and compensations with
// their delivery status, pending deadlines and parked events.
//
// [sagatest.Run]: https://pkg.go.dev/github.com/chronicle-go/chronicle/saga/sagatest#Run
// [sagatest.RunWorkflow]: https://pkg.go.dev/github.com/chronicle-go/chronicle/saga/sagatest#RunWorkflow
package saga
