// Package brokertest finds the real brokers the tests run against: NATS
// with JetStream at CHRONICLE_TEST_NATS (default nats://127.0.0.1:4222) and
// RabbitMQ at CHRONICLE_TEST_AMQP (default
// amqp://guest:guest@127.0.0.1:5672/). When one cannot be reached the test
// is skipped with a clear message — except under CI=true, where it fails.
// It imports no broker client: the adapters' own tests connect.
package brokertest

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults used when the variables are unset.
const (
	DefaultNATS = "nats://127.0.0.1:4222"
	DefaultAMQP = "amqp://guest:guest@127.0.0.1:5672/"
)

// NATS returns the NATS server's URL.
func NATS() string { return env("CHRONICLE_TEST_NATS", DefaultNATS) }

// AMQP returns the RabbitMQ server's URL.
func AMQP() string { return env("CHRONICLE_TEST_AMQP", DefaultAMQP) }

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

var (
	mu      sync.Mutex
	reached = map[string]error{}
)

// RequireNATS skips t (fails it under CI=true) when the NATS server cannot
// be reached, and returns its URL.
func RequireNATS(t testing.TB) string {
	t.Helper()
	return require(t, "NATS", "CHRONICLE_TEST_NATS", NATS(), "4222")
}

// RequireAMQP skips t (fails it under CI=true) when RabbitMQ cannot be
// reached, and returns its URL.
func RequireAMQP(t testing.TB) string {
	t.Helper()
	return require(t, "RabbitMQ", "CHRONICLE_TEST_AMQP", AMQP(), "5672")
}

func require(t testing.TB, what, variable, u, port string) string {
	t.Helper()
	addr, err := HostPort(u, port)
	if err == nil {
		mu.Lock()
		var seen bool
		err, seen = reached[addr]
		if !seen {
			var c net.Conn
			c, err = net.DialTimeout("tcp", addr, 3*time.Second)
			if err == nil {
				c.Close()
			}
			reached[addr] = err
		}
		mu.Unlock()
	}
	if err == nil {
		return u
	}
	msg := what + " at " + redact(u) + " is unreachable (" + err.Error() + "); set " + variable
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " — CI=true, so this fails instead of skipping")
	}
	t.Skip(msg)
	return ""
}

// HostPort returns the "host:port" of a broker URL, with defPort when the
// URL names none.
func HostPort(u, defPort string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	host := p.Host
	if at := strings.LastIndex(host, "@"); at >= 0 {
		host = host[at+1:]
	}
	if p.Port() == "" {
		host = net.JoinHostPort(p.Hostname(), defPort)
	}
	return host, nil
}

// WithHost returns u with its host:port replaced by addr (to send a client
// through a tcpproxy).
func WithHost(u, addr string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Host = addr
	return p.String()
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "the configured server"
	}
	p.User = nil
	return p.String()
}

// Name returns a unique name for a test's stream, exchange or queue:
// prefix, then the test's name (letters and digits only), then random hex.
func Name(t testing.TB, prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	var s strings.Builder
	for _, r := range t.Name() {
		if ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			s.WriteRune(r)
		}
		if s.Len() >= 32 {
			break
		}
	}
	return prefix + "_" + s.String() + "_" + hex.EncodeToString(b[:])
}
