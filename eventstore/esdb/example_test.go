package esdb_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/chronicle-go/chronicle/eventstore"
	"github.com/chronicle-go/chronicle/eventstore/esdb"
)

// A store on an insecure local node (see docs/esdb.md for a container
// command), used through the eventstore contract.
func ExampleNew() {
	store, err := esdb.New(esdb.Config{ConnectionString: "esdb://127.0.0.1:2113?tls=false"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	ctx := context.Background()
	if err := store.Ping(ctx); err != nil {
		log.Fatal(err) // an *esdb.UnavailableError when nobody answers
	}
	e := eventstore.NewEvent("OrderPlaced", []byte(`{"total":42}`))
	e.Metadata = eventstore.Metadata{CorrelationID: "order-1"}
	res, err := store.Append(ctx, "order-1", eventstore.NoStream, e)
	if _, ok := errors.AsType[*eventstore.ConflictError](err); ok {
		log.Fatal("order-1 exists already")
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("version", res.Version, "at", res.Positions[0])
}

// Validate reports every problem at once.
func ExampleConfig_Validate() {
	err := esdb.Config{Namespace: "$tenant", MaxAppendSize: -1}.Validate()
	fmt.Println(err)
	// Output:
	// esdb: config: ConnectionString is empty
	// esdb: config: Namespace "$tenant" starts with "$", the prefix of EventStoreDB's system streams
	// esdb: config: MaxAppendSize -1 is negative
}
