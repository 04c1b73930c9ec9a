package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chronicle-go/chronicle/internal/backoff"
)

// NotifyAppended wakes live subscriptions now: this process's at once, other
// processes' through a NOTIFY sent by a background goroutine outside any
// transaction. [Store.Append] calls it after every successful append; call
// it after committing a transaction that used [Store.AppendTx]. Wake-ups are
// coalesced: NOTIFYs are at least [Config.NotifyInterval] apart, and all the
// calls in between cause one more, not many; and sent only while some
// process listens (a store LISTENs once it has a live subscription). It
// never blocks.
//
// Why not NOTIFY inside the append's transaction: PostgreSQL serialises the
// commits of every transaction that has sent a NOTIFY behind one
// database-wide lock, held from the commit's start to its end, so every
// writer would wait for every other (see docs/postgres.md for the measured
// cost).
func (s *Store) NotifyAppended() {
	s.broadcast()
	select {
	case s.notifyC <- struct{}{}:
	default:
	}
}

// lifetime returns a context cancelled when the store is closed.
func (s *Store) lifetime() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// quietNotifyPause is the longest the notifier waits between two wake-up
// statements while nobody listens (see notifier).
const quietNotifyPause = time.Second

// nextNotifyPause is the notifier's pause after a wake-up statement, given
// the one before it: interval after one that sent (or failed), twice the
// last one, between interval and quietNotifyPause, after one that found
// nobody listening.
func nextNotifyPause(last, interval time.Duration, nobody bool) time.Duration {
	if !nobody {
		return interval
	}
	return max(min(2*last, quietNotifyPause), interval)
}

// notifier sends the coalesced wake-ups for other processes.
//
// The statement sends a NOTIFY only while some process listens (see
// sql/notify.sql), but it is a round trip all the same. So after each one
// that found nobody listening, the next waits twice as long, up to
// quietNotifyPause; one that sent (or failed) brings the pause back to
// Config.NotifyInterval. A process that starts listening is noticed within
// that pause; meanwhile its subscriptions poll, and it re-read the log when
// it began to listen.
func (s *Store) notifier() {
	defer s.bg.Done()
	ctx, cancel := s.lifetime()
	defer cancel()
	pause := s.cfg.NotifyInterval
	for {
		select {
		case <-s.done:
			return
		case <-s.notifyC:
		}
		nctx, ncancel := context.WithTimeout(ctx, 10*time.Second)
		tag, err := s.pool.Exec(nctx, s.sql.notify, s.channel)
		ncancel()
		if err != nil && ctx.Err() == nil {
			// Subscribers still see the events within PollInterval.
			s.log.Warn("chronicle: wake-up NOTIFY failed", "channel", s.channel, "error", err)
		}
		if err == nil {
			s.wakeUps.tried.Add(1)
			s.wakeUps.sent.Add(tag.RowsAffected())
		}
		pause = nextNotifyPause(pause, s.cfg.NotifyInterval, err == nil && tag.RowsAffected() == 0)
		// Space NOTIFYs out: appends meanwhile leave one signal in notifyC.
		if !sleep(ctx, s.done, pause) {
			return
		}
	}
}

// startListener starts, once, the goroutine that LISTENs for other
// processes' wake-ups.
func (s *Store) startListener() {
	s.listen.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		s.bg.Add(1)
		go s.listener()
	})
}

// listener holds a dedicated connection that LISTENs on the store's
// channel and wakes live subscriptions on every notification. A dropped
// connection is re-established with back-off; meanwhile subscriptions poll.
func (s *Store) listener() {
	defer s.bg.Done()
	ctx, cancel := s.lifetime()
	defer cancel()
	pause := backoff.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	for {
		connected, err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if connected {
			pause.Reset()
		}
		d := pause.Next()
		s.log.Warn("chronicle: LISTEN connection lost; subscriptions poll until it is back", "channel", s.channel, "error", err, "retry_in", d)
		if !backoff.Sleep(ctx, d) {
			return
		}
	}
}

func (s *Store) listenOnce(ctx context.Context) (connected bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return false, err
	}
	// From now on appenders send wake-ups (see sql/notify.sql).
	if _, err := conn.Exec(ctx, s.sql.listen); err != nil {
		return false, err
	}
	// Anything appended before that: re-read. (An appender that found
	// nobody listening had committed its events before this lock was
	// taken, so the subscriptions' next read sees them.)
	s.broadcast()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		s.broadcast()
	}
}
