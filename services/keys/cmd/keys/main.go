// Command keys runs the keys service. `keys healthcheck` probes a running one.
package main

import (
	"context"
	"os"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/keys"
)

func main() {
	os.Exit(svc.Main(keys.Name, os.Args[1:], func(l *config.Loader) (func(context.Context) error, *string) {
		cfg := keys.Bind(l)
		return func(ctx context.Context) error { return keys.Run(ctx, *cfg) }, &cfg.GRPCAddr
	}))
}
