// Command subscriptions runs the subscriptions service. `subscriptions healthcheck` probes a running one.
package main

import (
	"context"
	"os"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/subscriptions"
)

func main() {
	os.Exit(svc.Main(subscriptions.Name, os.Args[1:], func(l *config.Loader) (func(context.Context) error, *string) {
		cfg := subscriptions.Bind(l)
		return func(ctx context.Context) error { return subscriptions.Run(ctx, *cfg) }, &cfg.GRPCAddr
	}))
}
