package auth

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Rule says who may call one RPC. The roles are the coarse gate of DOMAIN.md's role table; use
// cases add the finer checks (tenancy, relationships, delegated admin).
type Rule struct {
	Public      bool   // no token needed (health, reflection, token issuance)
	Roles       []Role // the effective principal needs one of these; empty: any authenticated caller
	ServiceOnly bool   // only partnerhub services (service tokens)
}

// Policy maps full gRPC method names ("/partnerhub.catalog.v1.CatalogService/GetSku") to rules.
// Every method a server registers must have a rule: the server refuses to start otherwise, so
// a new RPC cannot be exposed by accident.
type Policy map[string]Rule

// infrastructure services every server exposes without a token.
var publicPrefixes = []string{"/grpc.health.v1.Health/", "/grpc.reflection."}

func isPublicInfra(method string) bool {
	return slices.ContainsFunc(publicPrefixes, func(pre string) bool { return strings.HasPrefix(method, pre) })
}

// Authenticator verifies the bearer token of a call and applies the policy.
type Authenticator struct {
	verifier *Verifier
	policy   Policy
}

// NewAuthenticator returns an Authenticator.
func NewAuthenticator(v *Verifier, p Policy) *Authenticator {
	return &Authenticator{verifier: v, policy: p}
}

// SetPolicy sets the policy; call it before the server accepts calls.
func (a *Authenticator) SetPolicy(p Policy) { a.policy = p }

// Authenticate is the go-grpc-middleware auth function: it returns ctx carrying the Principal, or
// UNAUTHENTICATED (no or bad token) / PERMISSION_DENIED (ROLE_REQUIRED, SERVICE_TOKEN_REQUIRED).
func (a *Authenticator) Authenticate(ctx context.Context) (context.Context, error) {
	method, _ := grpc.Method(ctx)
	if isPublicInfra(method) {
		return ctx, nil
	}
	rule, ok := a.policy[method]
	if !ok {
		// Unreachable when the server checked Missing at start; deny rather than guess.
		return nil, errs.New(errs.PermissionDenied, errs.ReasonRoleRequired, "no access rule for %s", method)
	}
	token, err := bearer(ctx)
	if rule.Public {
		if err == nil { // a public RPC still learns who calls when a token is sent
			if p, verr := a.verifier.Verify(ctx, token); verr == nil {
				return WithPrincipal(ctx, p), nil
			}
		}
		return ctx, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := a.verifier.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if rule.ServiceOnly && !p.IsService() {
		return nil, errs.New(errs.PermissionDenied, errs.ReasonServiceTokenRequired,
			"%s is for partnerhub services only", method)
	}
	if len(rule.Roles) > 0 {
		if err := p.RequireRole(rule.Roles...); err != nil {
			return nil, err
		}
	}
	return WithPrincipal(ctx, p), nil
}

func bearer(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 || vals[0] == "" {
		return "", errs.New(errs.Unauthenticated, errs.ReasonTokenMissing,
			"the call carries no token: send 'authorization: Bearer <token>'")
	}
	scheme, token, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return "", errs.New(errs.Unauthenticated, errs.ReasonTokenInvalid, "the authorization header is not 'Bearer <token>'")
	}
	return strings.TrimSpace(token), nil
}
