package main

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/catalog"
	"github.com/partnerhub/partnerhub/services/delegatedadmin"
	"github.com/partnerhub/partnerhub/services/identity"
	"github.com/partnerhub/partnerhub/services/keys"
	"github.com/partnerhub/partnerhub/services/orders"
	"github.com/partnerhub/partnerhub/services/subscriptions"
)

// member is one of the six services: bind returns its settings (bound to l, whose Parse applies
// flags) and the closure that runs it with them.
type member struct {
	name string
	bind func(l *config.Loader) (*svc.Base, func(context.Context) error)
}

// options are the devstack's own settings that reach a service.
type options struct {
	demoSecret string // the demo credential's secret (identity)
	redisAddr  string // REDIS_ADDR: catalog uses Redis instead of its in-process cache
	// serviceSecrets are the service credentials' secrets by name (every service but identity,
	// plus "operator"): identity gets them all as its service-credentials, each service its own
	// as its service-secret. A setting from the environment wins over them.
	serviceSecrets map[string]string
	// keysSealing, keysLinks and keysLookup are the keys service's sealing, link and lookup keys
	// (devKeys; the lookup key without its ID).
	keysSealing, keysLinks, keysLookup string
}

// credentialsSetting is identity's service-credentials setting: "name=secret,...", sorted so the
// setting is the same on every start.
func (o options) credentialsSetting() string {
	var pairs []string
	for _, name := range slices.Sorted(maps.Keys(o.serviceSecrets)) {
		pairs = append(pairs, name+"="+o.serviceSecrets[name])
	}
	return strings.Join(pairs, ",")
}

// withSecret gives a service its service secret unless the environment did.
func (o options) withSecret(b *svc.Base) *svc.Base {
	if b.ServiceSecret == "" {
		b.ServiceSecret = o.serviceSecrets[b.Name]
	}
	return b
}

// members lists the six services in start order, identity (with its demo partner) first.
func members(o options) []member {
	return []member{
		{identity.Name, func(l *config.Loader) (*svc.Base, func(context.Context) error) {
			c := identity.Bind(l)
			c.Demo, c.DemoClientSecret = true, o.demoSecret
			if c.ServiceCredentials == "" {
				c.ServiceCredentials = o.credentialsSetting()
			}
			return &c.Base, func(ctx context.Context) error { return identity.Run(ctx, *c) }
		}},
		{catalog.Name, func(l *config.Loader) (*svc.Base, func(context.Context) error) {
			c := catalog.Bind(l)
			c.Seed = true // the seed catalog on first start (services/catalog/seed)
			if c.RedisAddr == "" {
				c.RedisAddr = o.redisAddr
			}
			return o.withSecret(&c.Base), func(ctx context.Context) error { return catalog.Run(ctx, *c) }
		}},
		{orders.Name, func(l *config.Loader) (*svc.Base, func(context.Context) error) {
			c := orders.Bind(l)
			return o.withSecret(&c.Base), func(ctx context.Context) error { return orders.Run(ctx, *c) }
		}},
		{subscriptions.Name, func(l *config.Loader) (*svc.Base, func(context.Context) error) {
			c := subscriptions.Bind(l)
			return o.withSecret(&c.Base), func(ctx context.Context) error { return subscriptions.Run(ctx, *c) }
		}},
		{keys.Name, func(l *config.Loader) (*svc.Base, func(context.Context) error) {
			c := keys.Bind(l)
			if c.SealingKeys == "" {
				c.SealingKeys = o.keysSealing
			}
			if c.LinkKeys == "" {
				c.LinkKeys = o.keysLinks
			}
			if c.LookupKey == "" {
				c.LookupKey = o.keysLookup
			}
			return o.withSecret(&c.Base), func(ctx context.Context) error { return keys.Run(ctx, *c) }
		}},
		{delegatedadmin.Name, func(l *config.Loader) (*svc.Base, func(context.Context) error) {
			c := delegatedadmin.Bind(l)
			return o.withSecret(&c.Base), func(ctx context.Context) error { return delegatedadmin.Run(ctx, *c) }
		}},
	}
}
