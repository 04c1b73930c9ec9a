package postgres

// SetFetchAheadAlways makes every stream read fetch its next page while it
// delivers the current one, whatever the consumer's pace, until the test
// ends (tests that use it must not run in parallel).
func SetFetchAheadAlways(t interface{ Cleanup(func()) }) {
	fetchAheadAlways.Store(true)
	t.Cleanup(func() { fetchAheadAlways.Store(false) })
}

// WakeUps reports how many times s's notifier ran its statement, and how
// many NOTIFYs it sent (see sql/notify.sql).
func WakeUps(s *Store) (tried, sent int64) {
	return s.wakeUps.tried.Load(), s.wakeUps.sent.Load()
}
