// Command catalog runs the catalog service. `catalog healthcheck` probes a running one.
package main

import (
	"context"
	"os"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/catalog"
)

func main() {
	os.Exit(svc.Main(catalog.Name, os.Args[1:], func(l *config.Loader) (func(context.Context) error, *string) {
		cfg := catalog.Bind(l)
		return func(ctx context.Context) error { return catalog.Run(ctx, *cfg) }, &cfg.GRPCAddr
	}))
}
