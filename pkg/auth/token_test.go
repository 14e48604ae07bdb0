package auth_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newKey(t *testing.T, id string) auth.SigningKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return auth.SigningKey{ID: id, Private: priv, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(24 * time.Hour)}
}

func pub(k auth.SigningKey) ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

func sign(t *testing.T, k auth.SigningKey, p auth.Principal, now time.Time, ttl time.Duration) string {
	t.Helper()
	tok, err := auth.Sign(k, p, now, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// craft signs arbitrary claims with any method, for tokens auth.Sign would never produce.
func craft(t *testing.T, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": auth.Issuer, "aud": []string{auth.Audience}, "sub": "u-1",
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
		"org_id": "p-1", "org_kind": "PARTNER", "roles": []string{"ADMIN_AGENT"},
	}
}

func with(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for kk, vv := range c {
		out[kk] = vv
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

// tamper replaces the payload of a signed token, keeping header and signature.
func tamper(t *testing.T, tok string, edit func(map[string]any)) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ := json.Marshal(m)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func assertErr(t *testing.T, err error, kind errs.Kind, reason errs.Reason) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v %v", kind, reason)
	}
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("err = %T %v, want *errs.Error", err, err)
	}
	if e.Kind != kind || e.Reason != reason {
		t.Fatalf("err = %v, want %v %v", err, kind, reason)
	}
}

func TestSignVerify_ValidToken(t *testing.T) {
	key := newKey(t, "k1")
	v := auth.NewVerifier(auth.StaticKeys{"k1": pub(key)}, func() time.Time { return t0.Add(time.Minute) })
	user := auth.Principal{Subject: "u-1", OrgID: "p-1", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent, auth.SalesAgent}}
	svc := auth.Principal{Subject: "orders", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}, OnBehalfOf: &user}

	tests := []struct {
		name string
		p    auth.Principal
	}{
		{"partner user", user},
		{"customer user", auth.Principal{Subject: "c-9", OrgID: "t-9", OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerUser}}},
		{"service on behalf of a user", svc},
		{"service without obo", auth.Principal{Subject: "orders", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), sign(t, key, tt.p, t0, 15*time.Minute))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			assertPrincipal(t, got, tt.p)
		})
	}
}

func assertPrincipal(t *testing.T, got, want auth.Principal) {
	t.Helper()
	if got.Subject != want.Subject || got.OrgID != want.OrgID || got.OrgKind != want.OrgKind || !slices.Equal(got.Roles, want.Roles) {
		t.Errorf("principal = %+v, want %+v", got, want)
	}
	switch {
	case want.OnBehalfOf == nil && got.OnBehalfOf != nil:
		t.Errorf("on_behalf_of = %+v, want none", got.OnBehalfOf)
	case want.OnBehalfOf != nil && got.OnBehalfOf == nil:
		t.Errorf("on_behalf_of missing, want %+v", want.OnBehalfOf)
	case want.OnBehalfOf != nil:
		assertPrincipal(t, *got.OnBehalfOf, *want.OnBehalfOf)
	}
}

func TestVerify_Refused(t *testing.T) {
	key := newKey(t, "k1")
	other := newKey(t, "k1") // same key ID, a key identity never published
	unknown := newKey(t, "k-unknown")
	now := t0.Add(time.Minute)
	v := auth.NewVerifier(auth.StaticKeys{"k1": pub(key)}, func() time.Time { return now })
	user := auth.Principal{Subject: "u-1", OrgID: "p-1", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.BillingAgent}}
	good := sign(t, key, user, t0, 15*time.Minute)

	tests := []struct {
		name   string
		token  string
		reason errs.Reason
	}{
		{"expired", sign(t, key, user, t0.Add(-time.Hour), 15*time.Minute), errs.ReasonTokenExpired},
		{"expired by one second", sign(t, key, user, now.Add(-15*time.Minute-time.Second), 15*time.Minute), errs.ReasonTokenExpired},
		{"signed by an unknown key ID", sign(t, unknown, user, t0, 15*time.Minute), errs.ReasonTokenInvalid},
		{"signed by the wrong key under a known ID", sign(t, other, user, t0, 15*time.Minute), errs.ReasonTokenInvalid},
		{"expired and forged is invalid, not expired", sign(t, other, user, t0.Add(-time.Hour), time.Minute), errs.ReasonTokenInvalid},
		{"alg none", craft(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", validClaims(now)), errs.ReasonTokenInvalid},
		{"HS256 with the public key as secret", craft(t, jwt.SigningMethodHS256, []byte(pub(key)), "k1", validClaims(now)), errs.ReasonTokenInvalid},
		{"tampered payload: roles", tamper(t, good, func(m map[string]any) { m["roles"] = []string{"ADMIN_AGENT"} }), errs.ReasonTokenInvalid},
		{"tampered payload: org", tamper(t, good, func(m map[string]any) { m["org_id"] = "p-2" }), errs.ReasonTokenInvalid},
		{"tampered payload: exp", tamper(t, sign(t, key, user, t0.Add(-time.Hour), time.Minute),
			func(m map[string]any) { m["exp"] = now.Add(time.Hour).Unix() }), errs.ReasonTokenInvalid},
		{"no kid", craft(t, jwt.SigningMethodEdDSA, key.Private, "", validClaims(now)), errs.ReasonTokenInvalid},
		{"wrong issuer", craft(t, jwt.SigningMethodEdDSA, key.Private, "k1", with(validClaims(now), "iss", "evil")), errs.ReasonTokenInvalid},
		{"wrong audience", craft(t, jwt.SigningMethodEdDSA, key.Private, "k1", with(validClaims(now), "aud", "other")), errs.ReasonTokenInvalid},
		{"no expiry", craft(t, jwt.SigningMethodEdDSA, key.Private, "k1", with(validClaims(now), "exp", nil)), errs.ReasonTokenInvalid},
		{"not yet valid", craft(t, jwt.SigningMethodEdDSA, key.Private, "k1", with(validClaims(now), "nbf", now.Add(time.Minute).Unix())), errs.ReasonTokenInvalid},
		{"no subject", craft(t, jwt.SigningMethodEdDSA, key.Private, "k1", with(validClaims(now), "sub", nil)), errs.ReasonTokenInvalid},
		{"no organisation", craft(t, jwt.SigningMethodEdDSA, key.Private, "k1", with(validClaims(now), "org_id", nil)), errs.ReasonTokenInvalid},
		{"no organisation kind", craft(t, jwt.SigningMethodEdDSA, key.Private, "k1", with(validClaims(now), "org_kind", nil)), errs.ReasonTokenInvalid},
		{"garbage", "not.a.jwt", errs.ReasonTokenInvalid},
		{"empty", "", errs.ReasonTokenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.token)
			assertErr(t, err, errs.Unauthenticated, tt.reason)
			if p.Subject != "" {
				t.Errorf("principal returned with the error: %+v", p)
			}
			// The client learns only the reason, never which check failed.
			st, _ := errs.ToStatus(err)
			if msg := st.Message(); msg != "the token is not valid" && msg != "the token has expired" &&
				msg != "the token lacks subject or organisation" {
				t.Errorf("client message = %q", msg)
			}
		})
	}
	// Sanity: the good token the tampered ones derive from verifies.
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Fatalf("good token: %v", err)
	}
}

// A key source that cannot reach identity answers UNAVAILABLE, not TOKEN_INVALID: the caller's
// token may be fine, so it must not be told to log in again.
func TestVerify_KeySourceUnavailable(t *testing.T) {
	key := newKey(t, "k1")
	fetch := func(context.Context) (map[string]ed25519.PublicKey, error) {
		return nil, errs.Unavailablef("identity signing keys: connection refused")
	}
	v := auth.NewVerifier(auth.NewCachedKeys(fetch, func() time.Time { return t0 }), func() time.Time { return t0 })
	_, err := v.Verify(context.Background(), sign(t, key, auth.Principal{Subject: "u", OrgID: "o", OrgKind: auth.OrgPartner}, t0, time.Minute))
	assertErr(t, err, errs.Unavailable, errs.ReasonDependencyUnavailable)
}

func TestSign_SetsRegisteredClaims(t *testing.T) {
	key := newKey(t, "kid-7")
	tok := sign(t, key, auth.Principal{Subject: "u", OrgID: "o", OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerUser}}, t0, 10*time.Minute)
	parsed, err := jwt.NewParser(jwt.WithTimeFunc(func() time.Time { return t0 })).Parse(tok,
		func(*jwt.Token) (any, error) { return pub(key), nil })
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["kid"] != "kid-7" || parsed.Method.Alg() != "EdDSA" {
		t.Errorf("header = %v", parsed.Header)
	}
	c := parsed.Claims.(jwt.MapClaims)
	exp, _ := c.GetExpirationTime()
	iss, _ := c.GetIssuer()
	aud, _ := c.GetAudience()
	jti, _ := c["jti"].(string)
	if !exp.Equal(t0.Add(10*time.Minute)) || iss != auth.Issuer || !slices.Equal([]string(aud), []string{auth.Audience}) || jti == "" {
		t.Errorf("claims = %v", c)
	}
	if _, ok := c["obo"]; ok {
		t.Error("obo claim present without OnBehalfOf")
	}
}

func TestStaticKeys(t *testing.T) {
	key := newKey(t, "k1")
	s := auth.StaticKeys{"k1": pub(key)}
	if got, err := s.PublicKey(context.Background(), "k1"); err != nil || !got.Equal(pub(key)) {
		t.Errorf("PublicKey(k1) = %v, %v", got, err)
	}
	if _, err := s.PublicKey(context.Background(), "k2"); err == nil {
		t.Error("PublicKey(k2) = nil error")
	}
}
