module github.com/chronicle-go/chronicle/eventstore/esdb

go 1.26

require (
	github.com/chronicle-go/chronicle v0.1.0
	github.com/google/uuid v1.6.0
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/kurrent-io/KurrentDB-Client-Go v1.4.2
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/net v0.48.0 // indirect
	golang.org/x/sys v0.39.0 // indirect
	golang.org/x/text v0.41.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20251202230838-ff82c1b0f217 // indirect
	google.golang.org/grpc v1.79.3
	google.golang.org/protobuf v1.36.10
)
