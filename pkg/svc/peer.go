package svc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// TokenSource supplies the bearer token a call to a peer service carries: the service's own
// token when obo is nil, else a service token acting on behalf of obo.
type TokenSource interface {
	Token(ctx context.Context, obo *auth.Principal) (string, error)
}

type oboKey struct{}

// OnBehalfOf returns ctx whose peer calls (on connections from DialPeer or DialWithTokens) carry a
// service token acting on behalf of p instead of the service's own-account token. Pass the
// principal of the call being served (auth.FromContext), so the peer applies that caller's rights
// and tenancy (ID-8, DA-6) rather than the service's full rights.
//
// p's effective principal counts: a service token that already acts for someone passes that
// someone on. A service acting on its own account (no one behind it) makes the calls use the
// own-account token, since identity refuses an on-behalf-of principal holding SERVICE and the
// call is a service's anyway.
func OnBehalfOf(ctx context.Context, p auth.Principal) context.Context {
	e := p.Effective()
	if e.IsService() || e.HasRole(auth.Service) {
		return context.WithValue(ctx, oboKey{}, (*auth.Principal)(nil))
	}
	return context.WithValue(ctx, oboKey{}, &e)
}

// OnBehalfOfCaller is OnBehalfOf with the principal of the call ctx serves; ctx is unchanged
// when the call was not authenticated.
func OnBehalfOfCaller(ctx context.Context) context.Context {
	if p, ok := auth.FromContext(ctx); ok {
		return OnBehalfOf(ctx, p)
	}
	return ctx
}

func oboFromContext(ctx context.Context) *auth.Principal {
	p, _ := ctx.Value(oboKey{}).(*auth.Principal)
	return p
}

// DialWithTokens is Dial whose calls carry "authorization: Bearer <token>" from ts. Identity uses
// it with a TokenSource that mints service tokens locally; other services use Runtime.DialPeer.
func DialWithTokens(addr string, ts TokenSource) (*grpc.ClientConn, error) {
	if ts == nil {
		return nil, fmt.Errorf("dial %q: no token source", addr)
	}
	return dial(addr, grpc.WithPerRPCCredentials(TokenCredentials(ts)))
}

// TokenCredentials are the per-RPC credentials DialWithTokens adds, for a connection dialled
// some other way (an in-process listener in tests and benchmarks). Token failures become
// UNAVAILABLE / DEPENDENCY_UNAVAILABLE, a caller's deadline DEADLINE_EXCEEDED.
func TokenCredentials(ts TokenSource) credentials.PerRPCCredentials { return tokenCredentials{ts: ts} }

// tokenCredentials attaches a token from a TokenSource to every call.
type tokenCredentials struct{ ts TokenSource }

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (c tokenCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	tok, err := c.ts.Token(ctx, oboFromContext(ctx))
	if err != nil {
		return nil, credentialsError(err)
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials: the mesh is plaintext here
// (TLS, where wanted, is the platform's: a service mesh or a private network).
func (tokenCredentials) RequireTransportSecurity() bool { return false }

// credentialsError turns a token failure into a status gRPC lets per-RPC credentials return.
// gRPC replaces codes outside UNAVAILABLE, UNAUTHENTICATED, DEADLINE_EXCEEDED and friends by
// INTERNAL (gRFC A54), and the caller cannot fix this service's credential anyway, so every
// failure but the caller's own deadline is UNAVAILABLE / DEPENDENCY_UNAVAILABLE.
func credentialsError(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		st, _ := errs.ToStatus(err)
		return st.Err()
	}
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.Unavailable {
		e = errs.Unavailablef("cannot obtain a service token from identity").Wrap(err)
	}
	st, _ := errs.ToStatus(e)
	return st.Err()
}

// IdentityTokensOptions configures IdentityTokens.
type IdentityTokensOptions struct {
	// Name is the calling service's name; its client ID is "svc_" + Name.
	Name string
	// Secret is the service credential's secret (Base.ServiceSecret). Empty makes every Token
	// call fail with UNAVAILABLE naming the missing setting.
	Secret string
	// Now is wall time (default time.Now): token lifetimes never follow a fake business clock.
	Now func() time.Time
	// RefreshBefore is how long before its expiry a cached token is replaced (default 2 minutes,
	// at most half the token's lifetime, so a short-lived token is still reused).
	RefreshBefore time.Duration
	// MaxEntries bounds the cached tokens: one per principal a service acts for (default 10000).
	MaxEntries int
	// Timeout bounds one IssueServiceToken call (default 10 seconds).
	Timeout time.Duration
}

// IdentityTokens is the default TokenSource: it gets service tokens from identity's
// TokenService.IssueServiceToken and reuses each until shortly before it expires, so a service
// pays one RPC per principal every ~13 minutes rather than one per call. Concurrent misses for the
// same principal share one RPC.
type IdentityTokens struct {
	client identityv1.TokenServiceClient
	opts   IdentityTokensOptions

	group singleflight.Group

	mu     sync.RWMutex
	tokens map[string]cachedToken
}

type cachedToken struct {
	token     string
	refreshAt time.Time // replace from this time on
	expires   time.Time
}

// NewIdentityTokens returns an IdentityTokens over identity's TokenService client.
func NewIdentityTokens(client identityv1.TokenServiceClient, opts IdentityTokensOptions) *IdentityTokens {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RefreshBefore <= 0 {
		opts.RefreshBefore = 2 * time.Minute
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10_000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	return &IdentityTokens{client: client, opts: opts, tokens: map[string]cachedToken{}}
}

// ClientID is the service credential's client ID.
func (s *IdentityTokens) ClientID() string { return "svc_" + s.opts.Name }

// Token implements TokenSource.
func (s *IdentityTokens) Token(ctx context.Context, obo *auth.Principal) (string, error) {
	if s.opts.Secret == "" {
		return "", errs.Unavailablef("service %s has no service secret configured (service-secret, "+
			"PARTNERHUB_%s_SERVICE_SECRET): it cannot call its peers", s.opts.Name, envSvc(s.opts.Name))
	}
	key := principalKey(obo)
	s.mu.RLock()
	c, ok := s.tokens[key]
	s.mu.RUnlock()
	if ok && s.opts.Now().Before(c.refreshAt) {
		return c.token, nil
	}
	// The RPC runs detached from the first caller's cancellation, so one impatient caller does
	// not fail every caller sharing the flight; each caller still stops waiting at its own
	// deadline.
	ch := s.group.DoChan(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
		defer cancel()
		return s.issue(ctx, key, obo)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			// A token that is still valid beats failing the call while identity is down.
			if ok && s.opts.Now().Before(c.expires) {
				return c.token, nil
			}
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (s *IdentityTokens) issue(ctx context.Context, key string, obo *auth.Principal) (string, error) {
	req := &identityv1.IssueServiceTokenRequest{ClientId: s.ClientID(), ClientSecret: s.opts.Secret}
	if obo != nil {
		req.OnBehalfOf = auth.ProtoPrincipal(*obo)
	}
	resp, err := s.client.IssueServiceToken(ctx, req)
	if err != nil {
		// The reason (CREDENTIAL_INVALID, DEPENDENCY_UNAVAILABLE, ...) is what an operator needs;
		// the request, which holds the secret, is never part of the message.
		reason := errs.ReasonOf(errs.FromError(err))
		if reason == "" {
			reason = "no reason"
		}
		return "", errs.Unavailablef("identity refused a service token for %s (%s)", s.ClientID(), reason).Wrap(err)
	}
	at := resp.GetAccessToken()
	if at.GetToken() == "" || at.GetExpireTime() == nil {
		return "", errs.Unavailablef("identity returned no service token for %s", s.ClientID())
	}
	now := s.opts.Now()
	exp := at.GetExpireTime().AsTime()
	before := min(s.opts.RefreshBefore, exp.Sub(now)/2)
	s.remember(key, cachedToken{token: at.GetToken(), refreshAt: exp.Add(-before), expires: exp}, now)
	return at.GetToken(), nil
}

func (s *IdentityTokens) remember(key string, c cachedToken, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tokens[key]; !ok && len(s.tokens) >= s.opts.MaxEntries {
		for k, t := range s.tokens {
			if !now.Before(t.expires) {
				delete(s.tokens, k)
			}
		}
		// Still full of live tokens: start over rather than track recency; every principal
		// simply fetches once more.
		if len(s.tokens) >= s.opts.MaxEntries {
			clear(s.tokens)
		}
	}
	s.tokens[key] = c
}

// principalKey identifies a principal in the token cache; "" is the service's own account.
// The fields are separated by a byte no ID or role name contains.
func principalKey(p *auth.Principal) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(p.Subject)
	b.WriteByte(0)
	b.WriteString(p.OrgID)
	b.WriteByte(0)
	b.WriteString(string(p.OrgKind))
	for _, r := range p.Roles {
		b.WriteByte(0)
		b.WriteString(string(r))
	}
	return b.String()
}

func envSvc(name string) string { return strings.ToUpper(strings.ReplaceAll(name, "-", "_")) }

// DialPeer's connection to identity and token source are built once per runtime, on first use.
func (rt *Runtime) dialPeer(addr string) (*grpc.ClientConn, error) {
	ts, err := rt.tokenSource()
	if err != nil {
		return nil, err
	}
	conn, err := DialWithTokens(addr, ts)
	if err != nil {
		return nil, err
	}
	rt.peerMu.Lock()
	defer rt.peerMu.Unlock()
	rt.closers = append(rt.closers, conn.Close)
	return conn, nil
}

func (rt *Runtime) tokenSource() (TokenSource, error) {
	rt.peerMu.Lock()
	defer rt.peerMu.Unlock()
	if rt.Tokens != nil {
		return rt.Tokens, nil
	}
	if rt.Base.ServiceSecret == "" && rt.Log != nil {
		// Not fatal here: the service still serves what needs no peer, and each peer call says
		// what is missing. A Run that cannot work without peers checks RequireServiceSecret.
		rt.Log.Warn("no service secret configured: calls to peer services will fail",
			zap.String("setting", "service-secret"))
	}
	conn, err := Dial(rt.Base.IdentityAddr)
	if err != nil {
		return nil, fmt.Errorf("identity-addr %q: %w", rt.Base.IdentityAddr, err)
	}
	rt.closers = append(rt.closers, conn.Close)
	rt.Tokens = NewIdentityTokens(identityv1.NewTokenServiceClient(conn),
		IdentityTokensOptions{Name: rt.Base.Name, Secret: rt.Base.ServiceSecret})
	return rt.Tokens, nil
}
