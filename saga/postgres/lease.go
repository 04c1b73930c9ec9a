package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/saga"
)

// Acquire implements [saga.Store]: it opens a dedicated connection, waits
// for the saga's session advisory lock on it (polling every
// [Config.LockPollInterval]), then increments the checkpoint's epoch, which
// fences every earlier holder. The lock lives as long as the connection: if
// the process dies, PostgreSQL releases it and a standby takes over.
func (s *Store) Acquire(ctx context.Context, name string) (saga.Lease, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("saga/postgres: lease connection: %w", err)
	}
	key := "chronicle-saga:" + s.cfg.Schema + ":" + name
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&ok); err != nil {
			conn.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("saga/postgres: advisory lock: %w", err)
		}
		if ok {
			break
		}
		t := time.NewTimer(s.cfg.LockPollInterval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			conn.Close(context.WithoutCancel(ctx))
			return nil, ctx.Err()
		}
	}
	var epoch int64
	if err := s.pool.QueryRow(ctx, s.sql.fence, name).Scan(&epoch); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("saga/postgres: fence: %w", err)
	}
	l := &lease{conn: conn, token: epoch, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go l.watch(s.cfg.LeaseCheckInterval)
	return l, nil
}

type lease struct {
	mu    sync.Mutex
	conn  *pgx.Conn
	token int64
	lost  chan struct{}
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	lostO sync.Once
}

func (l *lease) Token() int64          { return l.token }
func (l *lease) Lost() <-chan struct{} { return l.lost }

func (l *lease) watch(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), every)
		err := l.conn.Ping(ctx)
		cancel()
		l.mu.Unlock()
		if err != nil {
			l.lostO.Do(func() { close(l.lost) })
			return
		}
	}
}

// Release unlocks and closes the lease's connection.
func (l *lease) Release(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		l.mu.Lock()
		defer l.mu.Unlock()
		_, err = l.conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
		if cerr := l.conn.Close(ctx); err == nil {
			err = cerr
		}
		l.lostO.Do(func() { close(l.lost) })
	})
	return err
}
