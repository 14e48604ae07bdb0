// Package identity is the composition root of the identity service: partners, users, customers,
// reseller relationships, and the tokens every other service verifies. Run is public so that
// deploy/devstack can run all six services in one process.
package identity

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/pkg/tenancy"
	"github.com/partnerhub/partnerhub/services/identity/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
	"github.com/partnerhub/partnerhub/services/identity/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/identity/migrations"
)

// Name is the service name (config prefix PARTNERHUB_IDENTITY_).
const Name = "identity"

// Demo credential of the devstack: client ID and where it is documented.
const (
	DemoClientID  = app.DemoClientID
	DemoPartnerID = app.DemoPartnerID
)

// Config is identity's configuration.
type Config struct {
	svc.Base
	// Demo seeds, on first start, a demo partner with an Admin agent user and the API
	// credential DemoClientID / DemoClientSecret (devstack, compose, e2e).
	Demo             bool
	DemoClientSecret string
	// Markets narrows the countries the service is offered in (ID-3): comma-separated ISO
	// 3166-1 alpha-2 codes; empty means every built-in market.
	Markets string
	// DomainSuffix makes a tenant's default domain of its prefix (ID-2).
	DomainSuffix string
	// InvitationBaseURL is the base of reseller invitation links (ID-4).
	InvitationBaseURL string
	// InvitationTTL is how long an invitation is valid (ID-4).
	InvitationTTL time.Duration
	// ServiceCredentials are "name=secret,..." pairs: the credentials the other services (and
	// partnerhub operators, e.g. "operator") use with IssueServiceToken.
	ServiceCredentials string
	// DelegatedAdminAddr is delegatedadmin's gRPC address, for the USER_ADMINISTRATOR check
	// when a partner manages a customer's users (DA-6).
	DelegatedAdminAddr string
}

// Bind binds identity's settings to l.
func Bind(l *config.Loader) *Config {
	c := &Config{}
	svc.BindBase(l, &c.Base, Name, svc.SlotIdentity)
	l.Bool(&c.Demo, "demo", false, "seed a demo partner, Admin agent user and API credential on first start")
	l.String(&c.DemoClientSecret, "demo-client-secret", "", "secret of the demo credential (client ID "+DemoClientID+"); required with --demo")
	l.String(&c.Markets, "markets", "", "countries the service is offered in, comma-separated ISO 3166-1 alpha-2 codes; empty: every built-in market")
	l.String(&c.DomainSuffix, "domain-suffix", ".onmicrosoft.com", "suffix that makes a customer's default domain of its prefix")
	l.String(&c.InvitationBaseURL, "invitation-base-url", "https://partnerhub.example/invitations/", "base of reseller invitation links; the code is appended")
	l.Duration(&c.InvitationTTL, "invitation-ttl", 30*24*time.Hour, "how long a reseller invitation is valid")
	l.String(&c.ServiceCredentials, "service-credentials", "", "service credentials name=secret,... (client ID svc_<name>) for IssueServiceToken")
	l.String(&c.DelegatedAdminAddr, "delegatedadmin-addr", "localhost:50056", "delegatedadmin's gRPC address (delegated user administration checks)")
	return c
}

// Run serves identity until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Demo && len(cfg.DemoClientSecret) < 16 {
		return fmt.Errorf("demo-client-secret: at least 16 characters are required with --demo")
	}
	markets, err := domain.ParseMarkets(cfg.Markets)
	if err != nil {
		return err
	}
	serviceCreds, err := domain.ParseServiceCredentials(cfg.ServiceCredentials)
	if err != nil {
		return err
	}
	if cfg.InvitationTTL < time.Hour {
		return fmt.Errorf("invitation-ttl: at least 1h is required")
	}
	rt, err := svc.Open(ctx, cfg.Base, migrations.FS)
	if err != nil {
		return err
	}
	defer rt.Close()
	// Identity asks delegatedadmin whether a partner's Admin agent holds User administrator in a
	// customer tenant (DA-6) — the one call that goes from identity to delegatedadmin, as
	// delegatedadmin asks identity about reseller relationships. The connection is lazy, so
	// neither service waits for the other to start. Identity signs its own service tokens.
	tokens := &localServiceTokens{}
	daConn, err := svc.DialWithTokens(cfg.DelegatedAdminAddr, tokens)
	if err != nil {
		return fmt.Errorf("delegatedadmin-addr: %w", err)
	}
	defer daConn.Close()
	access := tenancy.New(nil, delegatedadminv1.NewDelegatedAdminServiceClient(daConn), tenancy.Options{})
	a := app.New(sql.New(rt.DB), rt.Clock, app.Options{
		Markets: markets, DomainSuffix: cfg.DomainSuffix, InvitationBaseURL: cfg.InvitationBaseURL,
		InvitationTTL: cfg.InvitationTTL, ServiceCredentials: serviceCreds, DelegatedAccess: access,
	})
	tokens.app = a
	if err := a.EnsureSigningKey(ctx); err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	if cfg.Demo {
		created, err := a.SeedDemo(ctx, cfg.DemoClientSecret)
		if err != nil {
			return fmt.Errorf("seed demo partner: %w", err)
		}
		rt.Log.Info("demo partner", zap.Bool("created", created), zap.String("partner_id", DemoPartnerID), zap.String("client_id", DemoClientID))
	}
	return rt.Serve(ctx, svc.ServeConfig{
		Keys:     a, // identity verifies with its own keys, no RPC to itself
		Register: func(gs *grpc.Server) { grpcapi.Register(gs, a) },
	})
}

// localServiceTokens mints identity's own service tokens (subject "service:identity") with its
// signing keys: identity needs no credential to call its peers. The own-account token is reused
// until shortly before it expires: a fresh token per call would cost the peer a signature check
// per call instead of a lookup in its verified-token cache.
type localServiceTokens struct {
	app *app.App

	mu      sync.Mutex
	token   string
	refresh time.Time // wall time after which a new token is minted
}

// serviceTokenLifetime is the lifetime of identity's own service tokens; they are replaced when
// a fifth of it is left.
const serviceTokenLifetime = 15 * time.Minute

// Token implements svc.TokenSource.
func (t *localServiceTokens) Token(ctx context.Context, obo *auth.Principal) (string, error) {
	if obo != nil {
		tok, err := t.app.ServiceToken(ctx, Name, obo, serviceTokenLifetime)
		return tok.Token, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && time.Now().Before(t.refresh) {
		return t.token, nil
	}
	tok, err := t.app.ServiceToken(ctx, Name, nil, serviceTokenLifetime)
	if err != nil {
		return "", err
	}
	t.token, t.refresh = tok.Token, tok.Expire.Add(-serviceTokenLifetime/5)
	return t.token, nil
}
