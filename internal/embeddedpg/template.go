package embeddedpg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// initdb output is cached: the first Start under a data root runs initdb into
// a template directory (crmsync-template-<hash of the binaries>), and every
// Start copies it, which is several times faster than initdb. The template is
// never started, so it is immutable and safe to share between processes; it
// is created under a temporary name and renamed into place.
const (
	templatePrefix    = "crmsync-template-"
	templateTmpPrefix = "crmsync-template-tmp-"
	templateDone      = "COMPLETE"
)

// initDataDir fills dataDir (which must not exist) with a fresh cluster,
// copying the template when possible and running initdb into dataDir
// otherwise.
func initDataDir(ctx context.Context, binDir, dataRoot, dataDir string, ru *runAs, logger *slog.Logger) error {
	tmpl, err := ensureTemplate(ctx, binDir, dataRoot, ru, logger)
	if err == nil {
		if err = copyTree(tmpl, dataDir, ru); err == nil {
			return nil
		}
		_ = os.RemoveAll(dataDir)
	}
	logger.Debug("initdb template unusable, running initdb directly", "err", err)
	return runInitdb(ctx, binDir, dataDir, filepath.Dir(dataDir), ru)
}

// ensureTemplate returns the data directory of the template for binDir,
// creating it if needed.
func ensureTemplate(ctx context.Context, binDir, dataRoot string, ru *runAs, logger *slog.Logger) (string, error) {
	key, err := templateKey(binDir, ru)
	if err != nil {
		return "", err
	}
	final := filepath.Join(dataRoot, templatePrefix+key)
	if _, err := os.Stat(filepath.Join(final, templateDone)); err == nil {
		return filepath.Join(final, "data"), nil
	}

	began := time.Now()
	tmp, err := os.MkdirTemp(dataRoot, templateTmpPrefix)
	if err != nil {
		return "", fmt.Errorf("create template dir: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op once renamed
	if err := ru.chown(tmp); err != nil {
		return "", err
	}
	if err := runInitdb(ctx, binDir, filepath.Join(tmp, "data"), tmp, ru); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, templateDone), nil, 0o600); err != nil {
		return "", fmt.Errorf("mark template complete: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another process won the race: use its template.
		if _, statErr := os.Stat(filepath.Join(final, templateDone)); statErr != nil {
			return "", fmt.Errorf("install template: %w", err)
		}
	}
	logger.Debug("initdb template created", "dir", final, "elapsed", time.Since(began).Round(time.Millisecond))
	return filepath.Join(final, "data"), nil
}

// templateKey identifies the binaries (path, size and time of postgres) and
// the owner, so an upgrade or another user gets a new template.
func templateKey(binDir string, ru *runAs) (string, error) {
	fi, err := os.Stat(filepath.Join(binDir, exeName("postgres")))
	if err != nil {
		return "", fmt.Errorf("stat postgres binary: %w", err)
	}
	owner := ""
	if ru != nil {
		owner = ru.name
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%d|%d|%s|%s", binDir, fi.Size(), fi.ModTime().UnixNano(), owner, superuser))
	return hex.EncodeToString(sum[:6]), nil
}

// runInitdb creates a cluster in dataDir: trust auth, superuser crmsync,
// UTF8, C locale, no fsync.
func runInitdb(ctx context.Context, binDir, dataDir, workDir string, ru *runAs) error {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, exeName("initdb")),
		"-D", dataDir, "-A", "trust", "-U", superuser, "--no-sync", "-E", "UTF8", "--locale=C")
	cmd.Dir = workDir
	cmd.Env = childEnv()
	cmd.SysProcAttr = ru.sysProcAttr()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, lastLines(string(out), 20))
	}
	return nil
}

// copyTree copies the directory src to dst (which must not exist), keeping
// permissions and giving everything to ru.
func copyTree(src, dst string, ru *runAs) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil {
				return fmt.Errorf("copy template: %w", err)
			}
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return fmt.Errorf("copy template: %w", err)
			}
			if err := os.Symlink(link, target); err != nil {
				return fmt.Errorf("copy template: %w", err)
			}
		case d.Type().IsRegular():
			if err := copyFile(path, target, info.Mode().Perm()); err != nil {
				return fmt.Errorf("copy template: %w", err)
			}
		default:
			return fmt.Errorf("copy template: unexpected file %s", path)
		}
		if ru != nil {
			if err := os.Lchown(target, int(ru.uid), int(ru.gid)); err != nil {
				return fmt.Errorf("copy template: %w", err)
			}
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(out, in)
	return err
}

// removeStaleTemplates removes half-built templates of dead processes.
func removeStaleTemplates(root string, entries []fs.DirEntry) {
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), templateTmpPrefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleAge {
			_ = os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}
