package readmodel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"

	"github.com/chronicle-go/chronicle/projection"
)

// Projection names.
const (
	Orders    = "ecommerce-orders"
	Stock     = "ecommerce-stock"
	Revenue   = "ecommerce-revenue"
	Shipments = "ecommerce-shipments"
)

// Names lists the projections, in report order.
var Names = []string{Orders, Stock, Revenue, Shipments}

// OrderSummary is one order as a customer page shows it.
type OrderSummary struct {
	OrderID  string `json:"order_id"`
	Customer string `json:"customer"`
	Day      string `json:"day"`
	Total    int64  `json:"total"`
	Lines    int    `json:"lines"`
	Status   string `json:"status"`
	Tracking string `json:"tracking"`
	Carrier  string `json:"carrier"`
	Reason   string `json:"reason"`
}

// StockLevel is one product's stock: Reserved and Released count units
// over the product's life, so Initial − Reserved + Released = Available.
type StockLevel struct {
	SKU       string `json:"sku"`
	Initial   int    `json:"initial"`
	Reserved  int    `json:"reserved"`
	Released  int    `json:"released"`
	Available int    `json:"available"`
}

// DayRevenue is the revenue of the orders completed for one business day.
type DayRevenue struct {
	Day     string `json:"day"`
	Orders  int    `json:"orders"`
	Revenue int64  `json:"revenue"`
}

// Shipment is one shipment's carrier and current status.
type Shipment struct {
	ShipmentID string `json:"shipment_id"`
	Carrier    string `json:"carrier"`
	Status     string `json:"status"`
}

// CarrierStatus counts the shipments of one carrier in one status.
type CarrierStatus struct {
	Carrier   string `json:"carrier"`
	Status    string `json:"status"`
	Shipments int    `json:"shipments"`
}

// CarrierKey is the key of a [CarrierStatus] row.
func CarrierKey(carrier, status string) string { return carrier + "/" + status }

// Snapshot is every read model's rows at one moment.
type Snapshot struct {
	Orders    map[string]OrderSummary  // by order ID
	Stock     map[string]StockLevel    // by SKU
	Revenue   map[string]DayRevenue    // by day
	Shipments map[string]Shipment      // by shipment ID
	Carriers  map[string]CarrierStatus // by CarrierKey; rows of zero are kept
}

// Tables names the read model tables, in report order (the PostgreSQL
// tables have these names).
var Tables = []string{"order_summaries", "stock_levels", "revenue_per_day", "shipments", "shipments_by_carrier"}

// Checksums returns a SHA-256 (its first 64 bits, in hex) per table (see [Tables]) over its rows in key
// order, each encoded as JSON: equal checksums mean equal rows.
func (s Snapshot) Checksums() map[string]string {
	return map[string]string{
		Tables[0]: checksum(s.Orders),
		Tables[1]: checksum(s.Stock),
		Tables[2]: checksum(s.Revenue),
		Tables[3]: checksum(s.Shipments),
		Tables[4]: checksum(s.Carriers),
	}
}

func checksum[V any](rows map[string]V) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, k := range slices.Sorted(maps.Keys(rows)) {
		_ = enc.Encode(k)
		_ = enc.Encode(rows[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Store runs the read models' projections and reads their rows; memory and
// PostgreSQL implement it.
type Store interface {
	// Run runs the projections until ctx ends.
	Run(ctx context.Context) error
	// Rebuild resets every read model and replays the whole log into it;
	// progress, if not nil, is called now and then.
	Rebuild(ctx context.Context, progress func(projection.Progress)) error
	// Status reports each projection's checkpoint and lag.
	Status(ctx context.Context) ([]projection.Status, error)
	// Snapshot reads every read model.
	Snapshot(ctx context.Context) (Snapshot, error)
	// Runner is the projections' runner, for operators' tools (the web
	// console, the CLI): one projection's status, skip, retry, rebuild.
	Runner() Runner
}

// Runner is what operators' tools drive: a [projection.Runner] of either
// kind of read model.
type Runner interface {
	Status(ctx context.Context) ([]projection.Status, error)
	Skip(ctx context.Context, name string) error
	Retry(ctx context.Context, name string) error
	Rebuild(ctx context.Context, name string, opts projection.RebuildOptions) error
}

// CaughtUp reports whether every projection of s is running with no event
// left to handle.
func CaughtUp(ctx context.Context, s Store) (bool, error) {
	st, err := s.Status(ctx)
	if err != nil {
		return false, err
	}
	if len(st) < len(Names) {
		return false, nil
	}
	for _, p := range st {
		if p.State != projection.Running || p.LagEvents > 0 || p.LagAtLeast {
			return false, nil
		}
	}
	return true, nil
}

// Diff lists, per table, up to limit rows whose content differs between s
// and o ("key: <s's row> | <o's row>", "-" for a missing row), in key
// order: what a differing checksum does not say.
func (s Snapshot) Diff(o Snapshot, limit int) map[string][]string {
	out := map[string][]string{}
	add := func(table string, lines []string) {
		if len(lines) > 0 {
			out[table] = lines
		}
	}
	add(Tables[0], diffRows(s.Orders, o.Orders, limit))
	add(Tables[1], diffRows(s.Stock, o.Stock, limit))
	add(Tables[2], diffRows(s.Revenue, o.Revenue, limit))
	add(Tables[3], diffRows(s.Shipments, o.Shipments, limit))
	add(Tables[4], diffRows(s.Carriers, o.Carriers, limit))
	return out
}

func diffRows[V any](a, b map[string]V, limit int) []string {
	show := func(rows map[string]V, k string) string {
		v, ok := rows[k]
		if !ok {
			return "-"
		}
		j, _ := json.Marshal(v)
		return string(j)
	}
	keys := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		if sa, sb := show(a, k), show(b, k); sa != sb {
			if len(out) == limit {
				out = append(out, "…")
				break
			}
			out = append(out, k+": "+sa+" | "+sb)
		}
	}
	return out
}
