package svc

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/config"
)

// Ports: each service has a fixed slot N (1..6): gRPC on 5005N, admin HTTP on 905N.
const (
	SlotIdentity = 1 + iota
	SlotCatalog
	SlotOrders
	SlotSubscriptions
	SlotKeys
	SlotDelegatedAdmin
)

// Base holds the settings every service has.
type Base struct {
	Name           string
	GRPCAddr       string
	AdminAddr      string
	DatabaseURL    string
	LogLevel       string
	FakeClock      bool
	FakeClockStart string // RFC 3339; empty: the real time at start
	IdentityAddr   string // where identity serves GetSigningKeys; unused by identity itself
	// ServiceSecret is this service's credential secret for identity's IssueServiceToken (client
	// ID "svc_"+Name), which DialPeer's calls need; unused by identity, which mints its own.
	// Never log it.
	ServiceSecret string

	// Set by an embedding process (deploy/devstack), never by flags: a clock shared by every
	// service of the process, and a logger.
	Clock  clock.Clock
	Logger *zap.Logger
}

// BindBase binds the common settings of the service in the given slot to b (a field of the
// service's Config: flags write through these pointers when the loader parses).
func BindBase(l *config.Loader, b *Base, name string, slot int) {
	b.Name = name
	l.String(&b.GRPCAddr, "grpc-addr", fmt.Sprintf(":%d", 50050+slot), "gRPC listen address")
	l.String(&b.AdminAddr, "admin-addr", fmt.Sprintf(":%d", 9050+slot), "admin HTTP listen address (/healthz, /metrics, /debug/pprof); empty disables it")
	l.String(&b.DatabaseURL, "database-url", "sqlite:data/"+name+".db", "database: sqlite:<file> or postgres://user:pass@host:5432/db")
	l.String(&b.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	l.Bool(&b.FakeClock, "fake-clock", false, "run on a fake clock and serve partnerhub.testing.v1.ClockService (tests only)")
	l.String(&b.FakeClockStart, "fake-clock-start", "", "start time of the fake clock (RFC 3339); default: now")
	if slot != SlotIdentity {
		l.String(&b.IdentityAddr, "identity-addr", "localhost:50051", "identity's gRPC address, for token signing keys")
		l.String(&b.ServiceSecret, "service-secret", "", fmt.Sprintf("this service's credential secret for identity's IssueServiceToken (client ID svc_%s)", name))
	}
}

// RequireServiceSecret returns a one-line configuration error when the service secret is not
// set. A service whose Run cannot work without calling its peers checks it at start, so a
// deployment without the secret fails at once rather than on its first peer call.
func (b *Base) RequireServiceSecret() error {
	if b.ServiceSecret == "" {
		return fmt.Errorf("service-secret (PARTNERHUB_%s_SERVICE_SECRET) is not set: %s needs it to call its peer services", envSvc(b.Name), b.Name)
	}
	return nil
}

// clock returns the service clock: the injected one, a fake, or the real clock.
func (b *Base) clock() (clock.Clock, *clock.Fake, error) {
	if b.Clock != nil {
		f, _ := b.Clock.(*clock.Fake)
		return b.Clock, f, nil
	}
	if !b.FakeClock {
		return clock.Real{}, nil, nil
	}
	start := time.Now().UTC()
	if b.FakeClockStart != "" {
		t, err := time.Parse(time.RFC3339, b.FakeClockStart)
		if err != nil {
			return nil, nil, fmt.Errorf("fake-clock-start %q: not an RFC 3339 time", b.FakeClockStart)
		}
		start = t
	}
	f := clock.NewFake(start)
	return f, f, nil
}
