// Command identity runs the identity service. `identity healthcheck` probes a running one.
package main

import (
	"context"
	"os"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/identity"
)

func main() {
	os.Exit(svc.Main(identity.Name, os.Args[1:], func(l *config.Loader) (func(context.Context) error, *string) {
		cfg := identity.Bind(l)
		return func(ctx context.Context) error { return identity.Run(ctx, *cfg) }, &cfg.GRPCAddr
	}))
}
