//go:build !unix

package wal

import (
	"os"
	"path/filepath"
)

// lockDir on platforms without flock only creates the LOCK file: two logs
// on one directory are not detected there.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o640)
}
