// Package keys is the composition root of the keys service: entitlements, MAK keys, Open key
// cards, downloads and the activity log. Run is public so that deploy/devstack can run all six
// services in one process.
package keys

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/pkg/tenancy"
	keysidentity "github.com/partnerhub/partnerhub/services/keys/internal/adapters/identity"
	keysql "github.com/partnerhub/partnerhub/services/keys/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/keys/internal/sealing"
	"github.com/partnerhub/partnerhub/services/keys/migrations"
)

// Name is the service name (config prefix PARTNERHUB_KEYS_).
const Name = "keys"

// Config is keys's configuration.
type Config struct {
	svc.Base
	// SealingKeys are the AES-256 keys that encrypt keys at rest (KD-8): "id:BASE64,...", 32 bytes
	// each, the first seals new keys, all open (sealing.ParseKeyring). Rotate by putting a new key
	// first and keeping the old ones.
	SealingKeys string
	// LinkKeys are the HMAC keys that sign download links, in the same format (at least 32
	// bytes each); different keys from SealingKeys.
	LinkKeys string
	// LinkBase is what a download link's token is appended to.
	LinkBase string
	// FetchBase is where a resolved link points for the artifact: FetchBase + entitlement ID + "/"
	// + file name.
	FetchBase string
	// LookupKey is the HMAC key (base64 of at least 32 bytes) that indexes Open key cards by their
	// key (sealing.Lookup, KD-8), so that a typed key is found without decrypting anything. It
	// must never change: the stored cards are found by it.
	LookupKey string
}

// Bind binds keys's settings to l.
func Bind(l *config.Loader) *Config {
	c := &Config{}
	svc.BindBase(l, &c.Base, Name, svc.SlotKeys)
	l.String(&c.SealingKeys, "sealing-keys", "",
		`keys that encrypt software keys at rest: "id:BASE64,..." of 32 bytes each, the first active (required)`)
	l.String(&c.LinkKeys, "link-keys", "",
		`keys that sign download links: "id:BASE64,..." of at least 32 bytes each, the first active (required)`)
	l.String(&c.LinkBase, "link-base", "partnerhub-download:",
		"what a download link's token is appended to (the link given to customers)")
	l.String(&c.FetchBase, "fetch-base", "https://downloads.invalid/files/",
		"where a resolved download link points: this + entitlement ID + / + file name")
	l.String(&c.LookupKey, "lookup-key", "",
		"HMAC key that indexes key cards by their key: BASE64 of at least 32 bytes, never changed (required)")
	return c
}

// relationships adapts pkg/tenancy's cached checker to app.Relationships.
type relationships struct{ c *tenancy.Checker }

func (r relationships) Related(ctx context.Context, partnerID, customerID string) (bool, error) {
	rel, err := r.c.Relationship(ctx, partnerID, customerID)
	return rel.Active, err
}

// lookupKeyOf is the key card lookup key of the lookup-key setting.
func lookupKeyOf(cfg Config) ([]byte, error) {
	k, err := sealing.ParseLookupKey(cfg.LookupKey)
	if err != nil {
		return nil, fmt.Errorf("keys: lookup-key (PARTNERHUB_KEYS_LOOKUP_KEY): %w", err)
	}
	return k, nil
}

// Run serves keys until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	if cfg.SealingKeys == "" || cfg.LinkKeys == "" || cfg.LookupKey == "" {
		// No defaults: keys sealed (or cards indexed) under a key made up at start could not be
		// found or opened after a restart.
		return errors.New("keys: sealing-keys, link-keys and lookup-key are required " +
			"(PARTNERHUB_KEYS_SEALING_KEYS, PARTNERHUB_KEYS_LINK_KEYS, PARTNERHUB_KEYS_LOOKUP_KEY)")
	}
	keyring, err := sealing.ParseKeyring(cfg.SealingKeys)
	if err != nil {
		return fmt.Errorf("keys: sealing-keys: %w", err)
	}
	links, err := sealing.ParseLinkSigner(cfg.LinkKeys)
	if err != nil {
		return fmt.Errorf("keys: link-keys: %w", err)
	}
	lookupKey, err := lookupKeyOf(cfg)
	if err != nil {
		return err
	}
	rt, err := svc.Open(ctx, cfg.Base, migrations.FS)
	if err != nil {
		return err
	}
	defer rt.Close()
	conn, err := rt.DialPeer(cfg.IdentityAddr)
	if err != nil {
		return fmt.Errorf("identity-addr %q: %w", cfg.IdentityAddr, err)
	}
	checker := tenancy.New(identityv1.NewRelationshipServiceClient(conn), nil, tenancy.Options{})
	a := app.New(keysql.New(rt.DB), rt.Clock, relationships{checker}, keyring, links,
		app.Options{LinkBase: cfg.LinkBase, FetchBase: cfg.FetchBase, LookupKey: lookupKey,
			Programs: keysidentity.NewPrograms(conn)})
	return rt.Serve(ctx, svc.ServeConfig{
		Register: func(gs *grpc.Server) { grpcapi.Register(gs, a) },
		// A whole key is written nowhere (KD-8): RevealKey deduplicates by request_id itself.
		NotReplayed: []string{keysv1.EntitlementService_RevealKey_FullMethodName},
	})
}
