// Command delegatedadmin runs the delegatedadmin service. `delegatedadmin healthcheck` probes a running one.
package main

import (
	"context"
	"os"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/delegatedadmin"
)

func main() {
	os.Exit(svc.Main(delegatedadmin.Name, os.Args[1:], func(l *config.Loader) (func(context.Context) error, *string) {
		cfg := delegatedadmin.Bind(l)
		return func(ctx context.Context) error { return delegatedadmin.Run(ctx, *cfg) }, &cfg.GRPCAddr
	}))
}
