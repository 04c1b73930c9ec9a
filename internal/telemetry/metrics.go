package telemetry

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Meter returns the meter of scope (a package path below [ScopePrefix])
// from mp, or from the global provider when mp is nil. Instruments made
// from the global provider before an application installs an SDK start
// measuring once it does.
func Meter(mp metric.MeterProvider, scope string) metric.Meter {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return mp.Meter(ScopePrefix + scope)
}

// Instruments builds a package's instruments, keeping the first error
// (which only a wrong name or unit causes) and falling back to no-op
// instruments, so a package never fails to start over its metrics.
type Instruments struct {
	m   metric.Meter
	Err error
}

// NewInstruments returns a builder on m.
func NewInstruments(m metric.Meter) *Instruments { return &Instruments{m: m} }

func (b *Instruments) fail(err error) {
	if err != nil {
		if b.Err == nil {
			b.Err = err
		}
		otel.Handle(err)
	}
}

var noopMeter = noop.NewMeterProvider().Meter("")

// Counter returns an Int64Counter.
func (b *Instruments) Counter(name, unit, desc string) metric.Int64Counter {
	c, err := b.m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	if err != nil {
		b.fail(err)
		c, _ = noopMeter.Int64Counter(name)
	}
	return c
}

// Histogram returns a Float64Histogram of seconds with bucket boundaries
// fitting durations from a tenth of a millisecond to a minute.
func (b *Instruments) Seconds(name, desc string) metric.Float64Histogram {
	h, err := b.m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
		metric.WithExplicitBucketBoundaries(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
	if err != nil {
		b.fail(err)
		h, _ = noopMeter.Float64Histogram(name)
	}
	return h
}

// Gauge returns an Int64ObservableGauge, observed by a callback the
// caller registers.
func (b *Instruments) Gauge(name, unit, desc string) metric.Int64ObservableGauge {
	g, err := b.m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
	if err != nil {
		b.fail(err)
		g, _ = noopMeter.Int64ObservableGauge(name)
	}
	return g
}

// FloatGauge returns a Float64ObservableGauge.
func (b *Instruments) FloatGauge(name, unit, desc string) metric.Float64ObservableGauge {
	g, err := b.m.Float64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
	if err != nil {
		b.fail(err)
		g, _ = noopMeter.Float64ObservableGauge(name)
	}
	return g
}

// Register registers fn as the callback observing instruments, returning
// the registration to unregister (nil if it failed).
func (b *Instruments) Register(fn metric.Callback, instruments ...metric.Observable) metric.Registration {
	r, err := b.m.RegisterCallback(fn, instruments...)
	if err != nil {
		b.fail(err)
		return nil
	}
	return r
}
