package pglocal

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
)

// tools are the programs a cluster needs; they must sit in one directory
// because pg_ctl starts the postgres beside it.
var tools = []string{"initdb", "pg_ctl", "postgres"}

// FindBinaries returns the directory holding initdb, pg_ctl and postgres: the
// first directory on PATH that has all three, else the newest
// /usr/lib/postgresql/*/bin (Debian and Ubuntu keep them off PATH).
func FindBinaries() (dir string, err error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if d := filepath.Dir(p); hasTools(d) {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Sort by major version as a number: "9.6" < "15" < "16".
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if hasTools(d) {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in /usr/lib/postgresql/*/bin: install with `apt-get install -y postgresql`")
}

func hasTools(dir string) bool {
	for _, t := range tools {
		fi, err := os.Stat(filepath.Join(dir, t))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

func version(binDir string) float64 {
	v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	if err != nil {
		return -1
	}
	return v
}

// tool is the path of a PostgreSQL program: beside the server's, else the
// newest /usr/lib/postgresql/*/bin that has it (a PATH may offer the server
// programs without client tools such as pg_basebackup).
func (c *Cluster) tool(name string) string {
	p := filepath.Join(c.bin, name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return filepath.Join(d, name)
		}
	}
	return p
}

func toolError(name string, err error, out []byte) error {
	return fmt.Errorf("%s: %w\n%s", name, err, tail(out, 2000))
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
