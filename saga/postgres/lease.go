package postgres

import (
	"context"
	"fmt"

	"github.com/chronicle-go/chronicle/internal/pglease"
	"github.com/chronicle-go/chronicle/saga"
)

// Acquire implements [saga.StateStore]: it takes the saga's lease
// (internal/pglease: a session advisory lock on a dedicated connection,
// polled every [Config.LockPollInterval] while another engine holds it),
// then increments the checkpoint row's lease token (column epoch), which
// fences every earlier holder. The lock lives as long as the connection, which is pinged every
// [Config.LeaseCheckInterval]: if the process dies, PostgreSQL releases the
// lock and a standby takes over; if the connection dies, [saga.Lease.Lost]
// fires.
func (s *Store) Acquire(ctx context.Context, name string) (saga.Lease, error) {
	l, err := pglease.Acquire(ctx, pglease.Key{Kind: pglease.Saga, Schema: s.cfg.Schema, Name: name},
		pglease.Config{Conn: s.pool.Config().ConnConfig, Retry: s.cfg.LockPollInterval, Check: s.cfg.LeaseCheckInterval})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("saga/postgres: %w", err)
	}
	var token int64
	if err := s.pool.QueryRow(ctx, s.sql.fence, name).Scan(&token); err != nil {
		_ = l.Release(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("saga/postgres: fence: %w", err)
	}
	return &lease{Lease: l, token: token}, nil
}

// lease is the saga's view of a pglease.Lease: the lock, and the token it
// fences checkpoint writes with.
type lease struct {
	*pglease.Lease
	token int64
}

func (l *lease) Token() int64 { return l.token }
