package embeddedpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"
)

// slogPrintf adapts a slog.Logger to testcontainers' Printf logger, at debug
// level (its messages name images and ports, never our password).
type slogPrintf struct{ l *slog.Logger }

func (s slogPrintf) Printf(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }

// dockerAvailable reports whether a Docker engine answers within a few
// seconds.
func dockerAvailable(ctx context.Context) (ok bool) {
	defer func() {
		if recover() != nil { // testcontainers panics on some broken setups
			ok = false
		}
	}()
	provider, err := testcontainers.ProviderDefault.GetProvider(testcontainers.WithLogger(slogPrintf{slog.New(slog.DiscardHandler)}))
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return provider.Health(ctx) == nil // Health closes the provider
}

// startDocker starts a postgres container via testcontainers-go. Where no
// reaper image can be pulled, set TESTCONTAINERS_RYUK_DISABLED=true; Stop
// always terminates the container.
func startDocker(ctx context.Context, logger *slog.Logger) (*Server, error) {
	img := os.Getenv(ImageEnv)
	if img == "" {
		img = DefaultImage
	}
	password, err := randomHex(16)
	if err != nil {
		return nil, err
	}
	ctr, err := tcpostgres.Run(ctx, img,
		testcontainers.WithLogger(slogPrintf{logger}),
		tcpostgres.WithDatabase(DatabaseName),
		tcpostgres.WithUsername(superuser),
		tcpostgres.WithPassword(password),
		testcontainers.WithCmdArgs(
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
			"-c", "max_connections=200",
		),
		testcontainers.WithWaitStrategy(
			wait.ForLog("database system is ready to accept connections").
				WithOccurrence(2).WithStartupTimeout(2*time.Minute),
			wait.ForListeningPort("5432/tcp").WithStartupTimeout(time.Minute),
		),
	)
	terminate := func() error {
		if ctr == nil {
			return nil
		}
		if err := testcontainers.TerminateContainer(ctr); err != nil {
			return fmt.Errorf("terminate postgres container: %w", err)
		}
		return nil
	}
	if err != nil {
		_ = terminate()
		return nil, fmt.Errorf("start container from image %s: %w", img, err)
	}
	url, err := ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		_ = terminate()
		return nil, fmt.Errorf("container connection string: %w", err)
	}
	// The port mapping can lag the log line; wait for a real connection.
	if err := waitReady(ctx, url, nil, newTailBuffer(1)); err != nil {
		_ = terminate()
		return nil, fmt.Errorf("container from image %s: postgres not reachable", img)
	}
	return &Server{
		kind:   KindDocker,
		url:    url,
		logger: logger,
		stopFn: func(context.Context) error { return terminate() },
	}, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random password: %w", err)
	}
	return hex.EncodeToString(b), nil
}
