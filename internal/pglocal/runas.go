package pglocal

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serverUser is who runs the server when we are root: postgres refuses to run
// as root, and Debian's package creates this account.
const serverUser = "postgres"

// credential returns the identity to run initdb and pg_ctl as: nil (ourselves)
// unless we are root.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(serverUser)
	if err != nil {
		return nil, fmt.Errorf("running as root, so the server must run as user %q, but: %w (create it with `useradd --system postgres` or run as another user)", serverUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: uid %q: %w", serverUser, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: gid %q: %w", serverUser, u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// handOver gives dir (recursively) to the server user and lets that user reach
// it: root's temporary directories are 0700, so each ancestor that others
// cannot search gets o+x (search only, never read).
func handOver(dir string, cred *syscall.Credential, log *slog.Logger) error {
	if cred == nil {
		return nil
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Uid == cred.Uid && st.Gid == cred.Gid {
			return nil
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	})
	if err != nil {
		return fmt.Errorf("give %s to user %s: %w", dir, serverUser, err)
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			log.Info("pglocal: letting the server user traverse a parent directory", "dir", p)
			if err := os.Chmod(p, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("make %s traversable for user %s: %w", p, serverUser, err)
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
