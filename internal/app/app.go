// Package app wires crmsync together from a config: the database pool, the
// provider adapters (with the fleet-wide rate limit on their HTTP clients)
// and the engine. The CLI commands, the demo and the benchmark share it.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crmsync/crmsync/engine"
	"github.com/crmsync/crmsync/internal/config"
	"github.com/crmsync/crmsync/internal/ratelimit"
	"github.com/crmsync/crmsync/internal/simulate"
	"github.com/crmsync/crmsync/providers"
)

// App is a wired crmsync.
type App struct {
	Config *config.Config
	Pool   *pgxpool.Pool
	Engine *engine.Engine
	Logger *slog.Logger
}

// Connect opens a pool on the config's database.
func Connect(ctx context.Context, cfg *config.Config) (*pgxpool.Pool, error) {
	if cfg.DatabaseURL == "" {
		return nil, fmt.Errorf("no database: set database_url in the config or CRMSYNC_DATABASE_URL")
	}
	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse database URL %s: %w", config.RedactURL(cfg.DatabaseURL), redactErr(err, cfg.DatabaseURL))
	}
	if pc.MaxConns < 20 {
		pc.MaxConns = 20
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", config.RedactURL(cfg.DatabaseURL), err)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", config.RedactURL(cfg.DatabaseURL), err)
	}
	return pool, nil
}

func redactErr(err error, url string) error {
	return fmt.Errorf("%s", config.RedactURL(err.Error()))
}

// Open connects to the database and builds the engine with an adapter per
// connection. The schema must be migrated.
func Open(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*App, error) {
	pool, err := Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a, err := OpenPool(ctx, cfg, pool, logger)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return a, nil
}

// OpenPool is Open on an existing pool.
func OpenPool(ctx context.Context, cfg *config.Config, pool *pgxpool.Pool, logger *slog.Logger) (*App, error) {
	if logger == nil {
		logger = slog.Default()
	}
	var conns []*engine.Conn
	for _, cc := range cfg.Connections {
		stages, err := cc.Stages()
		if err != nil {
			return nil, fmt.Errorf("connection %s: %w", cc.Name, err)
		}
		var id int16
		if err := pool.QueryRow(ctx, `INSERT INTO crmsync_connection (name, provider) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET provider = EXCLUDED.provider RETURNING id`, cc.Name, cc.Provider).Scan(&id); err != nil {
			return nil, fmt.Errorf("register connection %s (is the database migrated? run crmsync migrate): %w", cc.Name, err)
		}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = 64
		var rt http.RoundTripper = transport
		if cc.RateLimit > 0 {
			rt = ratelimit.New(pool, id, cc.RateLimit).Transport(rt)
		}
		p, err := simulate.NewProvider(cc.Provider, providers.Options{
			Name:        cc.Name,
			BaseURL:     cc.BaseURL,
			Credentials: cc.Credentials,
			// No http.Client.Timeout: it would cap a whole streamed listing,
			// which stays open while its batches are ingested. Each adapter
			// bounds its requests with opts.Timeout itself (headers and idle
			// reads for streams, the whole call for small answers).
			HTTPClient:      &http.Client{Transport: rt},
			Timeout:         cc.Timeout,
			Stages:          stages,
			PipelineAliases: cc.PipelineAliases,
			Region:          cc.Region(cfg),
			Logger:          logger.With(slog.String("connection", cc.Name)),
		})
		if err != nil {
			return nil, fmt.Errorf("connection %s: %w", cc.Name, err)
		}
		conns = append(conns, &engine.Conn{Config: cc, Provider: p})
	}
	e, err := engine.New(ctx, pool, conns, logger)
	if err != nil {
		return nil, err
	}
	return &App{Config: cfg, Pool: pool, Engine: e, Logger: logger}, nil
}

// Close closes the pool.
func (a *App) Close() { a.Pool.Close() }
