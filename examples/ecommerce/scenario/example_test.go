package scenario_test

import (
	"context"
	"fmt"
	"os"

	"github.com/chronicle-go/chronicle/examples/ecommerce/scenario"
)

// A seeded run on the embedded default: 30 orders, about a fifth of them failing
// in the four ways the saga compensates. The report is the same for the
// same seed; Print leaves the throughput out when timing is false.
func Example() {
	rates := scenario.Rates{OutOfStock: 0.05, PaymentDeclined: 0.05, DeadlineExpired: 0.05, ShipmentFailed: 0.05}
	rep, err := scenario.Run(context.Background(), scenario.MemoryBackend(), scenario.Config{
		Orders: 30, Seed: 4, Rates: &rates,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep.Print(os.Stdout, false)
	// Output:
	// e-commerce run: 30 orders, seed 4, memory backend, logistics over the in-process broker
	//
	// orders by final state
	//   cancelled                      11
	//   completed                      19
	//
	// compensations by kind
	//   out-of-stock                    2
	//   payment-declined                3
	//   payment-deadline-expired        2
	//   shipment-failed                 4
	//
	// revenue per day
	//   2026-11-02      4 orders       1,463.20
	//   2026-11-03      4 orders         655.20
	//   2026-11-04      2 orders         664.00
	//   2026-11-05      3 orders       1,195.30
	//   2026-11-06      1 orders         173.90
	//   2026-11-07      4 orders       1,103.50
	//   2026-11-08      1 orders         482.00
	//
	// shipments by carrier and status
	//   Colissimo    delivered       4
	//   Colissimo    failed          1
	//   DHL          delivered       4
	//   DHL          failed          1
	//   DPD          delivered       4
	//   PostNL       delivered       2
	//   PostNL       failed          1
	//   Royal Mail   delivered       2
	//   UPS          delivered       3
	//   UPS          failed          1
	//
	// checks
	//   ok   every fulfilment saga ended completed or compensated
	//        19 completed, 11 compensated of 30 orders
	//   ok   every order ended as its seed planned
	//        30/30
	//   ok   nothing parked, no command failing, every parcel's journey ended
	//        0 parked events, 0 failing commands, 23 carrier journeys ended
	//   ok   stock conservation: initial − reserved + released = available, none negative, kept = sold
	//        166 − 117 + 39 = 88 over 14 SKUs
	//   ok   money: charged − refunded = revenue = completed orders' totals
	//        6,828.00 − 1,090.90 = 5,737.10 (completed orders: 5,737.10)
	//   ok   shipments by carrier and status add up; delivered = completed orders
	//        23 shipments over 6 carriers (Colissimo, DHL, DPD, PostNL, Royal Mail, UPS), 19 delivered
	//   ok   integration events over in-process: each published once, its effect applied once
	//        order → logistics: 23 requests published, 23 shipments booked; logistics → order: 115 shipment events published, 115 applied; 0 redeliveries recognised
	//
	// every invariant holds
}
