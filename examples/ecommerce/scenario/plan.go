package scenario

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/chronicle-go/chronicle/examples/ecommerce/fulfilment"
	"github.com/chronicle-go/chronicle/examples/ecommerce/inventory"
	"github.com/chronicle-go/chronicle/examples/ecommerce/logistics"
	"github.com/chronicle-go/chronicle/examples/ecommerce/order"
	"github.com/chronicle-go/chronicle/examples/ecommerce/payment"
)

// Fate is how an order is planned to end: [FateCompleted] or one of the
// saga's failure reasons.
type Fate string

// FateCompleted: the order is delivered.
const FateCompleted Fate = "completed"

// Rates are the shares of orders planned to fail, per kind (0 to 1; their
// sum at most 1).
type Rates struct {
	OutOfStock, PaymentDeclined, DeadlineExpired, ShipmentFailed float64
}

// DefaultRates fail about one order in five, spread over the four kinds.
var DefaultRates = Rates{OutOfStock: 0.05, PaymentDeclined: 0.06, DeadlineExpired: 0.03, ShipmentFailed: 0.05}

// Validate reports rates outside [0, 1] or summing above 1.
func (r Rates) Validate() error {
	sum := 0.0
	for _, v := range []float64{r.OutOfStock, r.PaymentDeclined, r.DeadlineExpired, r.ShipmentFailed} {
		if v < 0 || v > 1 {
			return fmt.Errorf("scenario: failure rate %.4g is outside [0, 1]", v)
		}
		sum += v
	}
	if sum > 1 {
		return fmt.Errorf("scenario: failure rates sum to %.4g, above 1", sum)
	}
	return nil
}

// PlannedOrder is one order of a [Plan] and the fate it must meet.
type PlannedOrder struct {
	Place order.Place
	Fate  Fate
}

// Plan is a seeded scenario: the catalogue with its initial stock and the
// orders.
type Plan struct {
	Products []inventory.AddProduct
	Orders   []PlannedOrder
}

type product struct {
	sku, name string
	price     int64
}

// The catalogue: everyday products, one too dear to charge, one limited.
var (
	everyday = []product{
		{"MUG-01", "Enamel mug", 12_50}, {"TEE-02", "Organic tee", 24_00}, {"CAP-03", "Wool cap", 19_90},
		{"BAG-04", "Canvas tote", 15_00}, {"LMP-05", "Desk lamp", 89_00}, {"KBD-06", "Mechanical keyboard", 149_00},
		{"HDP-07", "Headphones", 199_00}, {"BTL-08", "Steel bottle", 21_00}, {"PEN-09", "Fountain pen", 45_00},
		{"NBK-10", "Dotted notebook", 9_90}, {"CHR-11", "Chair cushion", 39_00}, {"PLT-12", "Plant pot", 17_50},
	}
	tooDear = product{"TV-85", "85-inch television", 2_499_00}
	limited = product{"ART-LTD", "Signed print (limited)", 120_00}
)

// LimitedStock is the stock of the limited product: orders planned to run
// out of stock ask for more.
const LimitedStock = 5

var countries = []string{"NL", "BE", "DE", "FR", "US", "GB", "ES"}

// NewPlan draws n orders from seed with the given failure rates, and the
// initial stock: enough for every line of every order, whatever order they
// are served in, plus a margin — except the limited product, which orders
// planned to run out of stock ask for beyond its stock.
func NewPlan(n int, seed uint64, rates Rates) Plan {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	demand := map[string]int{}
	p := Plan{}
	for i := range n {
		id := fmt.Sprintf("o-%05d", i+1)
		fate := FateCompleted
		switch x := rng.Float64(); {
		case x < rates.OutOfStock:
			fate = fulfilment.ReasonOutOfStock
		case x < rates.OutOfStock+rates.PaymentDeclined:
			fate = fulfilment.ReasonPaymentDeclined
		case x < rates.OutOfStock+rates.PaymentDeclined+rates.DeadlineExpired:
			fate = fulfilment.ReasonDeadlineExpired
		case x < rates.OutOfStock+rates.PaymentDeclined+rates.DeadlineExpired+rates.ShipmentFailed:
			fate = fulfilment.ReasonShipmentFailed
		}
		lines := make([]order.Line, 0, fulfilment.MaxLines)
		for _, k := range rng.Perm(len(everyday))[:1+rng.IntN(3)] {
			pr := everyday[k]
			lines = append(lines, order.Line{SKU: pr.sku, Qty: 1 + rng.IntN(3), UnitPrice: pr.price})
		}
		token := fmt.Sprintf("tok_visa_%04d", rng.IntN(10000))
		addr := order.Address{Name: fmt.Sprintf("Customer %d", 1+rng.IntN(n)), Street: fmt.Sprintf("%d Market Street", 1+rng.IntN(200)),
			City: "Springfield", Country: countries[rng.IntN(len(countries))]}
		switch fate {
		case fulfilment.ReasonOutOfStock:
			lines = append(lines, order.Line{SKU: limited.sku, Qty: LimitedStock + 1 + rng.IntN(3), UnitPrice: limited.price})
		case fulfilment.ReasonPaymentDeclined:
			if rng.IntN(2) == 0 {
				token = payment.TokenDeclined
			} else {
				lines = append(lines, order.Line{SKU: tooDear.sku, Qty: 1, UnitPrice: tooDear.price})
			}
		case fulfilment.ReasonDeadlineExpired:
			token = payment.TokenThreeDS
		case fulfilment.ReasonShipmentFailed:
			addr.Street = logistics.UndeliverableStreet
		}
		for _, l := range lines {
			// Every line but the limited one may be reserved (an order
			// that runs out of stock holds its first lines until it is
			// compensated), so every such line counts.
			if l.SKU != limited.sku {
				demand[l.SKU] += l.Qty
			}
		}
		p.Orders = append(p.Orders, PlannedOrder{Fate: fate, Place: order.Place{
			OrderID: id, Customer: addr.Name, Lines: lines, CardToken: token, Address: addr,
			Day: start.AddDate(0, 0, i*7/max(n, 1)).Format(time.DateOnly),
		}})
	}
	for _, pr := range append(append([]product{}, everyday...), tooDear) {
		stock := demand[pr.sku] + demand[pr.sku]/10 + 3
		p.Products = append(p.Products, inventory.AddProduct{SKU: pr.sku, Name: pr.name, Price: pr.price, Stock: stock})
	}
	p.Products = append(p.Products, inventory.AddProduct{SKU: limited.sku, Name: limited.name, Price: limited.price, Stock: LimitedStock})
	return p
}
