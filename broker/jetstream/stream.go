package jetstream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultDuplicates is [StreamConfig.Duplicates]' default.
const DefaultDuplicates = 2 * time.Minute

// StreamConfig describes the stream [Provision] creates or updates.
type StreamConfig struct {
	// Name of the stream. Required.
	Name string
	// Subjects it stores (default the default subject prefix's
	// "chronicle.>").
	Subjects []string
	// Duplicates is the de-duplication window: a message whose
	// Nats-Msg-Id was stored within it is dropped (default
	// [DefaultDuplicates]). It
	// should cover the longest a relay may take to publish again after a
	// failure.
	Duplicates time.Duration
	// MaxAge drops messages older than this (default: kept for ever).
	MaxAge time.Duration
	// MaxMsgSize refuses larger messages (default: the server's limit).
	MaxMsgSize int32
	// Memory keeps the stream in memory instead of on disk.
	Memory bool
	// Replicas (default 1).
	Replicas int
}

// withDefaults returns c with every zero field set to its default.
func (c StreamConfig) withDefaults() StreamConfig {
	if len(c.Subjects) == 0 {
		c.Subjects = []string{DefaultSubjectPrefix + ".>"}
	}
	c.Duplicates = cmp.Or(c.Duplicates, DefaultDuplicates)
	c.Replicas = max(c.Replicas, 1)
	return c
}

// Provision creates the stream, or updates it to cfg if it exists, and
// returns it.
func Provision(ctx context.Context, nc *nats.Conn, cfg StreamConfig) (jetstream.Stream, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		return nil, errors.New("broker/jetstream: provision: empty stream name")
	}
	cfg = cfg.withDefaults()
	sc := jetstream.StreamConfig{
		Name:       cfg.Name,
		Subjects:   cfg.Subjects,
		Duplicates: cfg.Duplicates,
		MaxAge:     cfg.MaxAge,
		MaxMsgSize: cfg.MaxMsgSize,
		Storage:    jetstream.FileStorage,
		Replicas:   cfg.Replicas,
		Retention:  jetstream.LimitsPolicy,
	}
	if cfg.Memory {
		sc.Storage = jetstream.MemoryStorage
	}
	s, err := js.CreateOrUpdateStream(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("broker/jetstream: provision stream %s: %w", cfg.Name, err)
	}
	return s, nil
}
