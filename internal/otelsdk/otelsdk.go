// Package otelsdk installs an OpenTelemetry SDK for chronicle's programs:
// the chronicle CLI (cmd/chronicle) and the examples. It is application
// code: only main packages and tests import it, never a library package
// (TestLibrariesImportNoSDK in internal/telemetry checks that), so users of
// the library choose their own SDK and exporters.
//
// # Configuration
//
// The standard OpenTelemetry environment variables decide:
//
//   - OTEL_TRACES_EXPORTER: "otlp" exports spans over OTLP/HTTP (protobuf)
//     to OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
//     (with OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION and the rest,
//     read by the exporter); "none" exports none. Unset, spans are exported
//     when an OTLP endpoint is set, and not traced at all otherwise.
//   - OTEL_METRICS_EXPORTER: "otlp" pushes metrics over OTLP/HTTP every
//     OTEL_METRIC_EXPORT_INTERVAL (default 60s); "prometheus" or "none" do
//     not push. Unset, metrics are pushed when an OTLP endpoint is set.
//     Independently, [Options.MetricsAddr] (the -metrics-addr flag) serves
//     them for Prometheus to scrape at /metrics.
//   - OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf (the default):
//     chronicle's programs carry the HTTP exporters only, lighter than gRPC.
//   - OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the service;
//     OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG choose the sampler
//     (default: parent-based, always on).
//   - OTEL_SDK_DISABLED=true installs nothing.
//
// Without any of these and without a metrics address, Start installs
// nothing, so the program runs with the API's no-op providers and
// chronicle's instrumentation costs nothing.
package otelsdk

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// Options are what a program adds to the environment's configuration.
type Options struct {
	// ServiceName is the service.name when OTEL_SERVICE_NAME does not set
	// one.
	ServiceName string
	// MetricsAddr, if set, is the address (host:port; port 0 picks one)
	// on which /metrics serves the metrics for Prometheus.
	MetricsAddr string
	// Getenv reads the environment; os.Getenv by default.
	Getenv func(string) string
}

// SDK is what [Start] installed.
type SDK struct {
	// Traces and Metrics report whether a tracer provider and a meter
	// provider were installed as the global ones.
	Traces, Metrics bool
	// MetricsURL is the URL of /metrics when it is served.
	MetricsURL string

	shutdown []func(context.Context) error
}

// Shutdown flushes what is buffered and stops the exporters and the
// metrics server.
func (s *SDK) Shutdown(ctx context.Context) error {
	var errs []error
	for i := len(s.shutdown) - 1; i >= 0; i-- {
		errs = append(errs, s.shutdown[i](ctx))
	}
	return errors.Join(errs...)
}

// Start installs, as the global providers, what the environment and opts
// ask for (see the package documentation), and the W3C trace context and
// baggage propagators. Call Shutdown on the result before the program
// exits.
func Start(ctx context.Context, opts Options) (*SDK, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	sdk := &SDK{}
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return sdk, nil
	}
	if p := getenv("OTEL_EXPORTER_OTLP_PROTOCOL"); p != "" && p != "http/protobuf" {
		return nil, fmt.Errorf("otelsdk: OTEL_EXPORTER_OTLP_PROTOCOL=%q: only http/protobuf is supported", p)
	}
	endpoint := getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
	traces, err := choose(getenv, "OTEL_TRACES_EXPORTER", endpoint || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "")
	if err != nil {
		return nil, err
	}
	metrics, err := choose(getenv, "OTEL_METRICS_EXPORTER", endpoint || getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") != "")
	if err != nil {
		return nil, err
	}
	if !traces && !metrics && opts.MetricsAddr == "" {
		return sdk, nil
	}
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithHost(),
		resource.WithAttributes(semconv.ServiceName(opts.ServiceName)), resource.WithFromEnv())
	if err != nil && res == nil {
		return nil, fmt.Errorf("otelsdk: resource: %w", err)
	}
	fail := func(err error) (*SDK, error) {
		_ = sdk.Shutdown(context.WithoutCancel(ctx))
		return nil, err
	}
	if traces {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return fail(fmt.Errorf("otelsdk: OTLP trace exporter: %w", err))
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		otel.SetTracerProvider(tp)
		sdk.Traces = true
		sdk.shutdown = append(sdk.shutdown, tp.Shutdown)
	}
	var readers []sdkmetric.Option
	if metrics {
		exp, err := otlpmetrichttp.New(ctx)
		if err != nil {
			return fail(fmt.Errorf("otelsdk: OTLP metric exporter: %w", err))
		}
		readers = append(readers, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	}
	if opts.MetricsAddr != "" {
		reg := prometheus.NewRegistry()
		exp, err := otelprom.New(otelprom.WithRegisterer(reg))
		if err != nil {
			return fail(fmt.Errorf("otelsdk: Prometheus exporter: %w", err))
		}
		readers = append(readers, sdkmetric.WithReader(exp))
		ln, err := net.Listen("tcp", opts.MetricsAddr)
		if err != nil {
			return fail(fmt.Errorf("otelsdk: metrics address: %w", err))
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		sdk.MetricsURL = "http://" + ln.Addr().String() + "/metrics"
		sdk.shutdown = append(sdk.shutdown, srv.Shutdown)
	}
	if len(readers) > 0 {
		mp := sdkmetric.NewMeterProvider(append(readers, sdkmetric.WithResource(res))...)
		otel.SetMeterProvider(mp)
		sdk.Metrics = true
		// The meter provider shuts down first: it flushes to the exporters
		// before the server stops.
		sdk.shutdown = append(sdk.shutdown, mp.Shutdown)
	}
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return sdk, nil
}

// choose reads an OTEL_*_EXPORTER variable: whether to export over OTLP.
func choose(getenv func(string) string, name string, otlpByDefault bool) (bool, error) {
	switch v := strings.TrimSpace(getenv(name)); v {
	case "":
		return otlpByDefault, nil
	case "otlp":
		return true, nil
	case "none", "prometheus":
		return false, nil
	default:
		return false, fmt.Errorf("otelsdk: %s=%q: chronicle's programs support otlp and none", name, v)
	}
}
