package postgres

// SetFetchAheadAlways makes every stream read fetch its next page while it
// delivers the current one, whatever the consumer's pace, until the test
// ends (tests that use it must not run in parallel).
func SetFetchAheadAlways(t interface{ Cleanup(func()) }) {
	fetchAheadAlways.Store(true)
	t.Cleanup(func() { fetchAheadAlways.Store(false) })
}
