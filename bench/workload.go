package main

import (
	"context"
	"fmt"
)

// workload is one of W1 … W9: build prepares its data (untimed) and returns
// the cases to measure.
type workload struct {
	id    string
	title func(sizes) string
	build func(ctx context.Context, e *env) ([]*benchCase, error)
}

// writers is the number of concurrent writers of W2 and W4.
const writers = 8

func workloads() []workload {
	one := func(c *benchCase) []*benchCase { return []*benchCase{c} }
	return []workload{
		{id: "W1", title: func(s sizes) string { return fmt.Sprintf("single-event appends, 1 writer (%d per round)", s.appends) },
			build: func(ctx context.Context, e *env) ([]*benchCase, error) {
				return one(e.appendCase("W1", "single-event appends, 1 writer", 1, e.sizes.appends, 1)), nil
			}},
		{id: "W2", title: func(s sizes) string {
			return fmt.Sprintf("single-event appends, %d writers on distinct streams (%d each per round)", writers, s.writerAppends)
		},
			build: func(ctx context.Context, e *env) ([]*benchCase, error) {
				return one(e.appendCase("W2", fmt.Sprintf("single-event appends, %d writers, distinct streams", writers), writers, e.sizes.writerAppends, 1)), nil
			}},
		{id: "W3", title: func(s sizes) string { return fmt.Sprintf("10-event appends, 1 writer (%d per round)", s.batches) },
			build: func(ctx context.Context, e *env) ([]*benchCase, error) {
				return one(e.appendCase("W3", "10-event appends, 1 writer", 1, e.sizes.batches, 10)), nil
			}},
		{id: "W4", title: func(s sizes) string {
			return fmt.Sprintf("%d writers racing on one stream (%d successful appends each per round)", writers, s.racing)
		},
			build: func(ctx context.Context, e *env) ([]*benchCase, error) {
				return one(e.conflictCase(writers, e.sizes.racing)), nil
			}},
		{id: "W5", title: func(s sizes) string {
			return fmt.Sprintf("load a %d-event aggregate without and with a snapshot (%d loads per round)", s.aggregate, s.loads)
		},
			build: func(ctx context.Context, e *env) ([]*benchCase, error) { return e.loadCases(ctx, e.sizes.aggregate) }},
		{id: "W6", title: func(s sizes) string { return fmt.Sprintf("read the global log (%d events per round)", s.readEvents) },
			build: func(ctx context.Context, e *env) ([]*benchCase, error) {
				c, err := e.readAllCase(ctx, e.sizes.readEvents)
				return one(c), err
			}},
		{id: "W7", title: func(s sizes) string {
			return fmt.Sprintf("rebuild a 3-table read model from %d events", s.rebuildEvents)
		},
			build: func(ctx context.Context, e *env) ([]*benchCase, error) {
				c, err := e.rebuildCase(ctx, e.sizes.rebuildEvents, e.progress)
				return one(c), err
			}},
		{id: "W8", title: func(s sizes) string { return fmt.Sprintf("sagas end to end (%d per round)", s.sagas) },
			build: func(ctx context.Context, e *env) ([]*benchCase, error) {
				c, err := e.sagaCase(ctx, e.sizes.sagas)
				return one(c), err
			}},
		{id: "W9", title: func(s sizes) string { return fmt.Sprintf("bulk import, %d events in one batch", s.importEvents) },
			build: func(ctx context.Context, e *env) ([]*benchCase, error) {
				return one(e.importCase(e.sizes.importEvents)), nil
			}},
	}
}
