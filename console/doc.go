// Package console is chronicle's web console: an [http.Handler] that shows
// the event log, projections, sagas and relays to people, and lets an
// operator retry, skip and rebuild. Applications mount it on their own
// mux; `chronicle console -addr 127.0.0.1:8080` serves it standalone over a
// database.
//
// # Pages
//
// The overview (events per second, head, counts, projections with lag
// bars, sagas by status, relays), streams (prefix search and paging), a
// stream's events, an event (payload, metadata, and links along its
// correlation and causation IDs), a correlation (every event of one
// order, across services, with what caused each), a live tail of the log,
// projections (status, lag, the failed event; retry, skip, rebuild with
// live progress) and sagas (instances by status, parked events, failing
// commands, an instance's timeline).
//
// Pages are server-rendered with [html/template]; the stylesheet and one
// small script are embedded with go:embed. The script only follows live
// updates (Server-Sent Events): every page works without it.
//
// # Sources
//
// [Config.Events] is the event store. [Index] answers what a store cannot
// answer quickly (listing streams, finding an event by ID or correlation
// ID, counting); [ScanIndex] does it on any store with bounded scans, and
// the PostgreSQL source in console/postgres with indexed queries.
// [Projections], [Sagas] and [Relays] feed their sections:
// a [*projection.Runner] is a [Projections], [Engines] adapts saga engines,
// and console/postgres reads everything from the database, taking the
// application's runner for rebuilds.
//
// # Security
//
// The console is read-only unless [Config.AdminToken] is set. Every action
// is a POST that needs the admin session (or the token as a bearer token)
// and a CSRF token; cross-site requests are refused. Every value is
// escaped by html/template (stream IDs, payloads and metadata are
// attacker-controlled), the script writes only text, and every response
// carries a Content-Security-Policy that allows no inline script. Every
// page runs under [Config.Timeout] with bounded queries; request input
// reaches SQL only as parameters. See docs/console.md.
package console
