package postgres

import (
	"bufio"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"text/template"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chronicle-go/chronicle/internal/pgerr"
	"github.com/chronicle-go/chronicle/pgmigrate"
)

// The store's SQL lives in sql/, one file per statement, named after it;
// sql/parts/ holds the pieces several statements share (the append's head
// row, the Reanchor check, the horizon, the global reads' filter). Each
// file is a text/template: {{schema}} is the store's schema, validated and
// quoted, as in the migrations; {{template "name.sql"}} includes a part;
// nothing else is ever spliced into a statement. Comment lines (starting
// with --) document a statement and are dropped before it is sent, so the
// server sees the statement alone (the append's leading /* chronicle.append
// */ stays: it names the statement in pg_stat_activity and
// pg_stat_statements).
//
//go:embed sql/*.sql sql/parts/*.sql
var sqlFiles embed.FS

// sqlTemplates is every file of sqlFiles, parsed once, by its base name;
// "schema" is set per store.
var sqlTemplates, sqlTemplatesErr = parseSQL()

func parseSQL() (*template.Template, error) {
	root := template.New("").Option("missingkey=error").Funcs(template.FuncMap{
		"schema": func() (string, error) { return "", fmt.Errorf("no schema") },
	})
	for _, pattern := range []string{"sql/*.sql", "sql/parts/*.sql"} {
		names, err := fs.Glob(sqlFiles, pattern)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			b, err := sqlFiles.ReadFile(name)
			if err != nil {
				return nil, err
			}
			if root.Lookup(path.Base(name)) != nil {
				return nil, fmt.Errorf("postgres: two SQL files named %s", path.Base(name))
			}
			if _, err := root.New(path.Base(name)).Parse(stripComments(string(b))); err != nil {
				return nil, err
			}
		}
	}
	return root, nil
}

// stripComments drops the lines that start with -- (after indentation) and
// the surrounding white space.
func stripComments(sql string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(sql))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return strings.TrimSpace(b.String())
}

// statements holds the store's SQL, rendered once from sql/ for the
// validated schema name.
type statements struct {
	appendOne    string
	appendMany   string
	appendBatch  string
	appendEvents string
	diagnose     string
	restored     string
	findIDs      string
	findPos      string
	readAll      string
	readAllBack  string
	belowAll     string
	belowBack    string
	readStream   string
	readBack     string
	streamExists string
	nextAll      string
	nextAllBack  string
	nextStream   string
	nextBack     string
	readAt       string
	head         string
	streams      string
	streamsLike  string
	horizon      string
	status       string
	reanchorLock string
	reanchor     string
	importLock   string
	importHeads  string
	importTid    string
	notify       string
	listen       string
	backendPID   string
	sessionAlive string
	terminate    string
}

// files names each statement's file in sql/.
func (st *statements) files() map[string]*string {
	return map[string]*string{
		"append_one.sql":         &st.appendOne,
		"append_many.sql":        &st.appendMany,
		"append_batch.sql":       &st.appendBatch,
		"append_events.sql":      &st.appendEvents,
		"diagnose.sql":           &st.diagnose,
		"check_restored.sql":     &st.restored,
		"find_ids.sql":           &st.findIDs,
		"find_positions.sql":     &st.findPos,
		"read_all.sql":           &st.readAll,
		"read_all_back.sql":      &st.readAllBack,
		"read_below.sql":         &st.belowAll,
		"read_below_back.sql":    &st.belowBack,
		"read_stream.sql":        &st.readStream,
		"read_stream_back.sql":   &st.readBack,
		"stream_exists.sql":      &st.streamExists,
		"next_all.sql":           &st.nextAll,
		"next_all_back.sql":      &st.nextAllBack,
		"next_stream.sql":        &st.nextStream,
		"next_stream_back.sql":   &st.nextBack,
		"read_at.sql":            &st.readAt,
		"head.sql":               &st.head,
		"streams.sql":            &st.streams,
		"streams_prefix.sql":     &st.streamsLike,
		"horizon_holder.sql":     &st.horizon,
		"status.sql":             &st.status,
		"reanchor_lock.sql":      &st.reanchorLock,
		"reanchor.sql":           &st.reanchor,
		"import_lock.sql":        &st.importLock,
		"import_heads.sql":       &st.importHeads,
		"import_transaction.sql": &st.importTid,
		"notify.sql":             &st.notify,
		"listen.sql":             &st.listen,
		"backend_pid.sql":        &st.backendPID,
		"session_present.sql":    &st.sessionAlive,
		"session_terminate.sql":  &st.terminate,
	}
}

// newStatements renders the statements for schema, which it validates
// (again: New's Config.Validate did) before quoting it.
func newStatements(schema string) (statements, error) {
	var st statements
	if sqlTemplatesErr != nil {
		return st, fmt.Errorf("postgres: parse sql/: %w", sqlTemplatesErr)
	}
	if err := pgmigrate.ValidateSchema(schema); err != nil {
		return st, err
	}
	quoted := pgmigrate.Quote(schema)
	t, err := sqlTemplates.Clone()
	if err != nil {
		return st, err
	}
	t.Funcs(template.FuncMap{"schema": func() (string, error) { return quoted, nil }})
	for name, field := range st.files() {
		var b strings.Builder
		if err := t.ExecuteTemplate(&b, name, nil); err != nil {
			return st, fmt.Errorf("postgres: render sql/%s: %w", name, err)
		}
		*field = b.String()
	}
	return st, nil
}

// preparedStmt is a statement the store prepares under a name of its own on
// each connection, rather than leaving it to pgx's statement cache: pgx
// drops a cached statement whenever it fails, and the single-statement
// append fails on every lost race (sql/append_one.sql), so the next append
// on that connection would prepare and plan it again (five custom plans
// before PostgreSQL settles on a generic one). A statement prepared under a
// name stays prepared through errors.
type preparedStmt struct {
	name string // "" when the pool does not prepare statements (see New)
	sql  string
}

// newPreparedStmt names the statement sql of file after its text, so that
// stores of different schemas on one pool prepare distinct statements.
func newPreparedStmt(file, sql string, named bool) preparedStmt {
	if !named {
		return preparedStmt{sql: sql}
	}
	sum := sha256.Sum256([]byte(sql))
	return preparedStmt{name: "chronicle_" + file + "_" + hex.EncodeToString(sum[:8]), sql: sql}
}

// on returns what to run the statement as on c: its name and description,
// once it is prepared on c (a map lookup in pgx after the first time), or
// its text and no description.
func (p preparedStmt) on(ctx context.Context, c *pgx.Conn) (string, *pgconn.StatementDescription, error) {
	if p.name == "" {
		return p.sql, nil, nil
	}
	sd, err := c.Prepare(ctx, p.name, p.sql)
	if err != nil {
		return "", nil, err
	}
	return p.name, sd, nil
}

// forget drops the statement from c when err says the server no longer has
// it as prepared (a DEALLOCATE or DISCARD ALL on the connection, or a schema
// change its cached plan cannot follow), so the next use prepares it again;
// it reports whether it did. pgx's own cache does the same on any error.
func (p preparedStmt) forget(ctx context.Context, c *pgx.Conn, err error) bool {
	if p.name == "" || !pgerr.Is(err, pgerr.InvalidSQLStatementName, pgerr.FeatureNotSupported) {
		return false
	}
	_ = c.Deallocate(ctx, p.name)
	return true
}
