package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// syncDir fsyncs a directory so that file creations, renames and removals in
// it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for fsync: %w", err)
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return d.Close()
}

// WriteFileAtomic replaces dir/name with data: temp file, fsync, rename,
// directory fsync. A crash leaves either the old or the new content. Other
// packages keeping small durable files (shardd's role file, raft's stable
// store) use it too.
func WriteFileAtomic(dir, name string, data []byte) error {
	path := filepath.Join(dir, name)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

// The metadata file maps tidwall's indexes (which always start at 1) to
// shoal's, and names the current segment directory.
//
//	offset size field
//	0      8    magic "SHOALWAL"
//	8      1    version (1)
//	9      8    generation: segments live in log-<generation>/
//	17     8    base: shoal index = tidwall index + base
//	25     4    CRC32C of bytes 0..24
const (
	metaName    = "wal.meta"
	metaMagic   = "SHOALWAL"
	metaVersion = 1
	metaSize    = 29
)

type meta struct {
	gen  uint64
	base uint64
}

func (m meta) encode() []byte {
	b := make([]byte, metaSize)
	copy(b, metaMagic)
	b[8] = metaVersion
	binary.LittleEndian.PutUint64(b[9:], m.gen)
	binary.LittleEndian.PutUint64(b[17:], m.base)
	binary.LittleEndian.PutUint32(b[25:], crc32.Checksum(b[:25], castagnoli))
	return b
}

// readMeta returns the metadata, or fs.ErrNotExist when there is none.
func readMeta(dir string) (meta, error) {
	path := filepath.Join(dir, metaName)
	b, err := os.ReadFile(path)
	if err != nil {
		return meta{}, err
	}
	if len(b) != metaSize || string(b[:8]) != metaMagic {
		return meta{}, fmt.Errorf("%w: %s is not a shoal wal metadata file", ErrCorrupt, path)
	}
	if b[8] != metaVersion {
		return meta{}, fmt.Errorf("%w: %s has unsupported version %d", ErrCorrupt, path, b[8])
	}
	if crc32.Checksum(b[:25], castagnoli) != binary.LittleEndian.Uint32(b[25:]) {
		return meta{}, fmt.Errorf("%w: %s checksum mismatch", ErrCorrupt, path)
	}
	m := meta{gen: binary.LittleEndian.Uint64(b[9:]), base: binary.LittleEndian.Uint64(b[17:])}
	if m.gen == 0 {
		return meta{}, fmt.Errorf("%w: %s names generation 0", ErrCorrupt, path)
	}
	return m, nil
}

func writeMeta(dir string, m meta) error { return WriteFileAtomic(dir, metaName, m.encode()) }

func genDirName(gen uint64) string { return fmt.Sprintf("log-%d", gen) }

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
