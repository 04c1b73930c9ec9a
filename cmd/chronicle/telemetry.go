package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/chronicle-go/chronicle/internal/otelsdk"
)

// telemetry installs the OpenTelemetry SDK the OTEL_* variables and
// --metrics-addr ask for (see docs/observability.md): cli.Options.Telemetry.
func telemetry(ctx context.Context, metricsAddr string, stderr io.Writer) (func(), error) {
	sdk, err := otelsdk.Start(ctx, otelsdk.Options{ServiceName: "chronicle-cli", MetricsAddr: metricsAddr})
	if err != nil {
		return nil, err
	}
	if sdk.MetricsURL != "" {
		fmt.Fprintf(stderr, "metrics on %s\n", sdk.MetricsURL)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := sdk.Shutdown(ctx); err != nil {
			fmt.Fprintf(stderr, "flushing telemetry: %v\n", err)
		}
	}, nil
}
