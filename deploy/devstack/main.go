// Command devstack runs all six partnerhub services in one process, the zero-infrastructure
// default behind `make run`: each service on its own port, SQLite files under the data directory,
// the in-process cache (Redis when REDIS_ADDR is set), one shared clock, and a demo partner whose
// token is kept fresh in <data-dir>/dev-token. A second start reuses the data.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/types/known/durationpb"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/server"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/identity"
)

// tokenLifetime is the dev token's lifetime; it is refreshed at half of it.
const tokenLifetime = time.Hour

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "devstack: %v\n", err)
		os.Exit(1)
	}
}

// service is one of the six, bound to its settings.
type service struct {
	name string
	base *svc.Base
	run  func(context.Context) error
}

func run() error {
	dataDir := flag.String("data-dir", "data", "directory for the SQLite files, the demo secret and the dev token")
	fakeClock := flag.Bool("fake-clock", false, "run every service on one shared fake clock and serve ClockService")
	logLevel := flag.String("log-level", "warn", "log level of the services: debug, info, warn, error")
	flag.Parse()

	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	log, err := server.NewLogger(*logLevel, "")
	if err != nil {
		return err
	}
	var clk clock.Clock = clock.Real{}
	if *fakeClock {
		clk = clock.NewFake(time.Now().UTC())
	}
	secret, err := demoSecret(filepath.Join(*dataDir, "demo-client-secret"))
	if err != nil {
		return err
	}

	var services []service
	var errList []error
	for _, m := range members(options{demoSecret: secret, redisAddr: os.Getenv("REDIS_ADDR")}) {
		l := config.New(m.name)
		base, run := m.bind(l)
		errList = append(errList, l.Parse(nil))
		// One SQLite file per service under the data dir, unless the environment names a database.
		if _, set := os.LookupEnv(l.EnvName("database-url")); !set {
			base.DatabaseURL = "sqlite:" + filepath.Join(*dataDir, m.name+".db")
		}
		base.Clock, base.Logger = clk, log
		services = append(services, service{name: m.name, base: base, run: run})
	}
	if err := errors.Join(errList...); err != nil {
		return fmt.Errorf("bad configuration: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g, ctx := errgroup.WithContext(ctx)
	for _, s := range services {
		g.Go(func() error {
			if err := s.run(ctx); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			return nil
		})
	}
	g.Go(func() error { return announce(ctx, services, *dataDir, secret, *fakeClock) })
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	if err == nil {
		fmt.Println("devstack: stopped")
	}
	return err
}

// announce waits until every service is healthy, writes the dev token, prints how to call the
// stack, and keeps the token fresh until ctx is done.
func announce(ctx context.Context, services []service, dataDir, secret string, fake bool) error {
	start := time.Now()
	for _, s := range services {
		for {
			if err := svc.Probe(ctx, s.base.GRPCAddr, time.Second); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			if time.Since(start) > 30*time.Second {
				return fmt.Errorf("%s did not become healthy within 30 s", s.name)
			}
		}
	}
	tokenFile := filepath.Join(dataDir, "dev-token")
	identityAddr := svc.DialAddr(services[0].base.GRPCAddr)
	if err := writeToken(ctx, identityAddr, secret, tokenFile); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\npartnerhub devstack is up (%s, data in %s%s)\n", time.Since(start).Round(time.Millisecond), dataDir,
		map[bool]string{true: ", fake clock", false: ""}[fake])
	for _, s := range services {
		fmt.Fprintf(&b, "  %-15s grpc %-22s admin http://%s/healthz\n", s.name, svc.DialAddr(s.base.GRPCAddr), svc.DialAddr(s.base.AdminAddr))
	}
	fmt.Fprintf(&b, "\nThe demo partner's token (Admin agent, refreshed every %s) is in %s. Try:\n\n", tokenLifetime/2, tokenFile)
	fmt.Fprintf(&b, "  bin/grpcurl -plaintext -H \"authorization: Bearer $(cat %s)\" -d '{\"partner_id\":\"%s\"}' %s partnerhub.identity.v1.PartnerService/GetPartner\n",
		tokenFile, identity.DemoPartnerID, identityAddr)
	fmt.Fprintf(&b, "  bin/grpcurl -plaintext %s list\n\nCtrl-C stops the devstack.\n", svc.DialAddr(services[1].base.GRPCAddr))
	fmt.Print(b.String())

	t := time.NewTicker(tokenLifetime / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := writeToken(ctx, identityAddr, secret, tokenFile); err != nil && ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "devstack: refresh dev token: %v\n", err)
			}
		}
	}
}

// writeToken gets a token for the demo credential the real way (TokenService.IssueToken) and
// writes it where the printed grpcurl line reads it.
func writeToken(ctx context.Context, identityAddr, secret, file string) error {
	conn, err := svc.Dial(identityAddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := identityv1.NewTokenServiceClient(conn).IssueToken(ctx, &identityv1.IssueTokenRequest{
		ClientId: identity.DemoClientID, ClientSecret: secret, Lifetime: durationpb.New(tokenLifetime),
	})
	if err != nil {
		return fmt.Errorf("issue dev token: %w", err)
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(resp.GetAccessToken().GetToken()+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// demoSecret returns the demo credential's secret, created once and kept in the data dir so a
// second start (which finds the demo partner) still knows it.
func demoSecret(file string) (string, error) {
	if b, err := os.ReadFile(file); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 24)
	_, _ = rand.Read(buf)
	s := base64.RawURLEncoding.EncodeToString(buf)
	if err := os.WriteFile(file, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write demo secret: %w", err)
	}
	return s, nil
}
