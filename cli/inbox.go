package cli

import (
	"context"
	"errors"
	"strconv"
	"time"

	inboxpg "github.com/chronicle-go/chronicle/inbox/postgres"
)

var errorsIs = errors.Is

func runInbox(ctx context.Context, a *app, args []string) error {
	sub, rest, err := a.subcommand("inbox", args, "status", "parked")
	if err != nil {
		return err
	}
	env, err := a.open(ctx)
	if err != nil {
		return err
	}
	if err := a.requireMigrated(ctx, env, inboxpg.Migrations); err != nil {
		return err
	}
	if sub == "parked" {
		fs := newFlagSet("inbox parked", &a.g, a.stderr)
		rest, err := parse(fs, rest)
		if err != nil {
			return err
		}
		if err := a.wantArgs("inbox parked", rest, 0, 1, "[CONSUMER]"); err != nil {
			return err
		}
		consumer := ""
		if len(rest) == 1 {
			consumer = rest[0]
		}
		list, err := inboxpg.Parked(ctx, env.Pool, env.Schema, consumer)
		if err != nil {
			return err
		}
		if a.g.json {
			type row struct {
				Consumer string    `json:"consumer"`
				ID       string    `json:"id"`
				Type     string    `json:"type"`
				Subject  string    `json:"subject"`
				Attempts int       `json:"attempts"`
				ParkedAt time.Time `json:"parked_at"`
				Error    string    `json:"error"`
			}
			out := make([]row, 0, len(list))
			for _, p := range list {
				out = append(out, row{p.Consumer, p.Message.ID, p.Message.Type, p.Message.Subject, p.Attempts, p.ParkedAt.UTC(), p.Error})
			}
			return writeJSON(a.stdout, out)
		}
		t := newTable(a.stdout, "CONSUMER", "ID", "TYPE", "SUBJECT", "ATTEMPTS", "PARKED", "ERROR")
		for _, p := range list {
			t.row(p.Consumer, p.Message.ID, p.Message.Type, p.Message.Subject, strconv.Itoa(p.Attempts), formatTime(p.ParkedAt), p.Error)
		}
		return t.flush()
	}
	fs := newFlagSet("inbox status", &a.g, a.stderr)
	rest, err = parse(fs, rest)
	if err != nil {
		return err
	}
	if err := a.wantArgs("inbox status", rest, 0, 0, ""); err != nil {
		return err
	}
	list, err := inboxpg.Status(ctx, env.Pool, env.Schema)
	if err != nil {
		return err
	}
	if a.g.json {
		type row struct {
			Consumer        string     `json:"consumer"`
			Processed       int64      `json:"processed"`
			LastProcessedAt *time.Time `json:"last_processed_at"`
			Failing         int        `json:"failing"`
			Parked          int        `json:"parked"`
		}
		out := make([]row, 0, len(list))
		for _, s := range list {
			out = append(out, row{s.Consumer, s.Processed, timePtr(s.LastProcessedAt), s.Failing, s.Parked})
		}
		return writeJSON(a.stdout, out)
	}
	t := newTable(a.stdout, "CONSUMER", "PROCESSED", "LAST PROCESSED", "FAILING", "PARKED")
	for _, s := range list {
		t.row(s.Consumer, strconv.FormatInt(s.Processed, 10), formatTime(s.LastProcessedAt), strconv.Itoa(s.Failing), strconv.Itoa(s.Parked))
	}
	return t.flush()
}
