// Command orders runs the orders service. `orders healthcheck` probes a running one.
package main

import (
	"context"
	"os"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/orders"
)

func main() {
	os.Exit(svc.Main(orders.Name, os.Args[1:], func(l *config.Loader) (func(context.Context) error, *string) {
		cfg := orders.Bind(l)
		return func(ctx context.Context) error { return orders.Run(ctx, *cfg) }, &cfg.GRPCAddr
	}))
}
