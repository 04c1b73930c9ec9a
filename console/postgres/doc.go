// Package postgres is the web console's source for a PostgreSQL database:
// it reads the event log, the projection checkpoints and the saga tables
// of one schema directly, with indexed, bounded queries, so the console
// works standalone (`chronicle console`) as well as embedded in an
// application.
//
//	// import consolepg "github.com/chronicle-go/chronicle/console/postgres"
//	src, err := consolepg.New(pool, consolepg.Config{Schema: "shop", Projections: runner})
//	...
//	c, err := console.New(console.Config{Events: src.Events(), Index: src,
//		Projections: src, Sagas: src, AdminToken: token})
//
// Reads need no running projection or saga; actions do what the database
// allows: a projection's skip and retry change its checkpoint row (or go
// through [Config.Projections] when set), and a rebuild needs the
// application's runner, which has the projection's code.
//
// # The correlation index
//
// Finding one order's events among millions needs an index on the events'
// correlation IDs. It costs every append, so it is not part of the event
// store's schema: it is this package's migration component "console"
// ([Migrations], [Source.Migrate], `chronicle migrate --components
// console`). Without it, correlation searches read the most recent
// [Config.ScanLimit] events only, and say so.
package postgres
