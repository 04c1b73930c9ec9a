// Package banking is the bank of docs/bank.md, the walkthrough a new user
// follows to build a first chronicle application: accounts (an aggregate
// behind the command bus), a balances read model in PostgreSQL, a transfer
// saga that refunds the debit when the credit is refused, a rebuild of the
// read model, and tests with the given/when/then kits.
//
// The files follow the walkthrough's steps: events.go, account.go,
// transfer.go, commands.go and handlers.go (the write side), balances.go
// and migrations/ (the read model), saga.go (the transfer saga), app.go
// (wiring it on PostgreSQL). The program in the parent folder runs it; the
// one in bankctl is its operator CLI.
package banking
