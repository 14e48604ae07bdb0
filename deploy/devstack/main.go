// Command devstack runs all six partnerhub services in one process, the zero-infrastructure
// default behind `make run`: each service on its own port, SQLite files under the data directory,
// the in-process cache (Redis when REDIS_ADDR is set), one shared clock, and a demo partner whose
// token is kept fresh in <data-dir>/dev-token. A second start reuses the data.
//
// The services call each other with service tokens from identity (IssueServiceToken). Their
// credentials are generated at first start and kept in <data-dir>/service-credentials; the
// "operator" one (client svc_operator, for operator RPCs such as CreatePartner) is also written
// alone to <data-dir>/operator-client-secret.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
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
	serviceSecrets, err := loadServiceSecrets(filepath.Join(*dataDir, "service-credentials"), serviceCredentialNames())
	if err != nil {
		return err
	}
	if err := writeSecretFile(filepath.Join(*dataDir, operatorSecretFile), serviceSecrets[operatorCredential]); err != nil {
		return err
	}

	sealingKeys, err := devKeys(filepath.Join(*dataDir, "keys-sealing-keys"))
	if err != nil {
		return err
	}
	linkKeys, err := devKeys(filepath.Join(*dataDir, "keys-link-keys"))
	if err != nil {
		return err
	}
	lookupKey, err := devKeys(filepath.Join(*dataDir, "keys-lookup-key"))
	if err != nil {
		return err
	}

	var services []service
	var errList []error
	opts := options{demoSecret: secret, redisAddr: os.Getenv("REDIS_ADDR"), serviceSecrets: serviceSecrets,
		keysSealing: sealingKeys, keysLinks: linkKeys, keysLookup: strings.TrimPrefix(lookupKey, "dev1:")}
	for _, m := range members(opts) {
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
	fmt.Fprintf(&b, "  bin/grpcurl -plaintext %s list\n", svc.DialAddr(services[1].base.GRPCAddr))
	fmt.Fprintf(&b, "\nOperator RPCs (CreatePartner) take a service token of client svc_%s, whose secret is in %s:\n\n",
		operatorCredential, filepath.Join(dataDir, operatorSecretFile))
	fmt.Fprintf(&b, "  bin/grpcurl -plaintext -d \"{\\\"client_id\\\":\\\"svc_%s\\\",\\\"client_secret\\\":\\\"$(cat %s)\\\"}\" %s partnerhub.identity.v1.TokenService/IssueServiceToken\n",
		operatorCredential, filepath.Join(dataDir, operatorSecretFile), identityAddr)
	fmt.Fprintf(&b, "\nCtrl-C stops the devstack.\n")
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
	if b, err := os.ReadFile(file); err == nil { //nolint:gosec // G304: a file of the devstack's own --data-dir, chosen by whoever starts it
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

// devKeys returns a key setting of the keys service ("dev1:BASE64" of 32 random bytes), created
// once and kept in the data dir: keys sealed in one run must open in the next.
func devKeys(file string) (string, error) {
	if b, err := os.ReadFile(file); err == nil { //nolint:gosec // G304: a file of the devstack's own --data-dir, chosen by whoever starts it
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 32)
	_, _ = rand.Read(buf)
	s := "dev1:" + base64.RawURLEncoding.EncodeToString(buf)
	if err := writeSecretFile(file, s); err != nil {
		return "", fmt.Errorf("write %s: %w", filepath.Base(file), err)
	}
	return s, nil
}

// operatorCredential is the service credential for people operating partnerhub (client ID
// svc_operator), not a service: it is how a developer gets a token for operator RPCs.
const (
	operatorCredential = "operator"
	operatorSecretFile = "operator-client-secret"
)

// serviceCredentialNames are the service credentials identity accepts in the devstack: every
// service but identity (which mints its own tokens), and the operator.
func serviceCredentialNames() []string {
	var names []string
	for _, m := range members(options{}) {
		if m.name != identity.Name {
			names = append(names, m.name)
		}
	}
	return append(names, operatorCredential)
}

// loadServiceSecrets returns a secret per name, from file (lines "name=secret") when it has one,
// else generated now, and writes the file back when it generated any. A second start thus keeps
// the credentials, and a name added to the devstack later gets one without resetting the others.
func loadServiceSecrets(file string, names []string) (map[string]string, error) {
	secrets := map[string]string{}
	b, err := os.ReadFile(file) //nolint:gosec // G304: a file of the devstack's own --data-dir, chosen by whoever starts it
	switch {
	case err == nil:
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			name, secret, ok := strings.Cut(line, "=")
			if !ok || name == "" || secret == "" {
				// Never echo the line: it holds a secret.
				return nil, fmt.Errorf("%s: a line is not name=secret; delete the file to generate new credentials", file)
			}
			secrets[name] = secret
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read service credentials: %w", err)
	}
	missing := false
	for _, name := range names {
		if secrets[name] == "" {
			// 26 base32 characters (128 random bits): longer than identity's 16-character
			// minimum, and free of the ',' and '=' its setting uses as separators.
			secrets[name] = rand.Text()
			missing = true
		}
	}
	if !missing {
		return secrets, nil
	}
	var out strings.Builder
	out.WriteString("# partnerhub devstack service credentials (development only): name=secret, client ID svc_<name>.\n")
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		fmt.Fprintf(&out, "%s=%s\n", name, secrets[name])
	}
	if err := writeSecretFile(file, out.String()); err != nil {
		return nil, fmt.Errorf("write service credentials: %w", err)
	}
	return secrets, nil
}

// writeSecretFile writes content to file readable by the owner only, replacing it atomically so a
// reader never sees half a secret.
func writeSecretFile(file, content string) error {
	if !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	// WriteFile keeps the mode of an existing file; a secret file is 0600 whatever was there.
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
