package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	twal "github.com/tidwall/wal"
)

// segmentFile is one tidwall segment file: named by the tidwall index of its
// first entry, 20 zero-padded digits.
type segmentFile struct {
	index uint64 // tidwall index of the first entry
	path  string
	size  int64
}

// listSegments returns the segment files of a tidwall directory in index
// order, and whether unfinished truncation files (.START/.END) are present.
func listSegments(dir string) (segs []segmentFile, unfinished bool, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, false, err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			continue
		}
		if len(name) > 20 && isDigits(name[:20]) &&
			(strings.HasSuffix(name, ".START") || strings.HasSuffix(name, ".END")) && len(name) <= 26 {
			unfinished = true
			continue
		}
		if len(name) != 20 || !isDigits(name) {
			continue
		}
		idx, err := strconv.ParseUint(name, 10, 64)
		if err != nil || idx == 0 {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, false, err
		}
		segs = append(segs, segmentFile{index: idx, path: filepath.Join(dir, name), size: info.Size()})
	}
	// os.ReadDir sorts by name; 20-digit names sort numerically.
	return segs, unfinished, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// damageKind says why a segment's valid prefix ends.
type damageKind int

const (
	damageNone    damageKind = iota
	damageFraming            // tidwall framing (uvarint length + data) is cut short
	damageRecord             // the entry is not a valid record (checksum, magic, length; zero-filled entries)
	damageIndex              // a valid record sits at the wrong position
)

// segmentScan is the result of scanSegment.
type segmentScan struct {
	goodBytes   int    // length of the valid prefix
	goodRecords int    // whole valid records in the prefix
	lastIndex   uint64 // shoal index of the last valid record (firstIndex-1 when none)
	lastEpoch   uint64 // its epoch

	damage      damageKind
	damageErr   error // what is wrong at goodBytes
	cutEntries  int   // tidwall entries (whole or partial) after goodBytes
	laterOffset int   // offset of an intact record after the damage, or -1
	laterIndex  uint64
}

// scanSegment walks a segment file's bytes: tidwall entries (uvarint length +
// data), each holding one record whose index must be firstIndex, firstIndex+1,
// ... It stops at the first damaged entry and then looks for any intact
// record with a higher index after it, which would mean the damage is not a
// torn tail. It never panics and never allocates more than the input size.
func scanSegment(data []byte, firstIndex uint64) segmentScan {
	s := segmentScan{lastIndex: firstIndex - 1, laterOffset: -1}
	pos := 0
	for pos < len(data) {
		size, n := binary.Uvarint(data[pos:])
		if n <= 0 || size > uint64(len(data)-pos-n) {
			s.damage = damageFraming
			s.damageErr = fmt.Errorf("entry at offset %d is cut short (%d bytes left)", pos, len(data)-pos)
			break
		}
		entry := data[pos+n : pos+n+int(size)]
		rec, err := DecodeRecord(entry)
		if err != nil {
			s.damage = damageRecord
			s.damageErr = fmt.Errorf("entry at offset %d: %w", pos, err)
			break
		}
		want := firstIndex + uint64(s.goodRecords)
		if rec.Index != want {
			s.damage = damageIndex
			s.damageErr = fmt.Errorf("entry at offset %d holds record %d where record %d belongs", pos, rec.Index, want)
			break
		}
		pos += n + int(size)
		s.goodRecords++
		s.lastIndex = rec.Index
		s.lastEpoch = rec.Epoch
	}
	s.goodBytes = pos
	if s.damage == damageNone {
		return s
	}
	// Count the entries being cut (zero-filled tails read as many empty
	// entries): whole framed entries, plus one for a partial remainder.
	for p := pos; p < len(data); {
		size, n := binary.Uvarint(data[p:])
		s.cutEntries++
		if n <= 0 || size > uint64(len(data)-p-n) {
			break
		}
		p += n + int(size)
	}
	// Look for an intact record after the damage: find each magic byte and
	// try the uvarint lengths that could precede it.
	for m := pos + 1; m < len(data); {
		i := bytes.IndexByte(data[m:], recordMagic)
		if i < 0 {
			break
		}
		m += i
		for n := 1; n <= binary.MaxVarintLen32 && m-n > pos; n++ {
			size, k := binary.Uvarint(data[m-n : m])
			if k != n || size < RecordHeaderSize || size > uint64(len(data)-m) {
				continue
			}
			rec, err := DecodeRecord(data[m : m+int(size)])
			if err == nil && rec.Index > s.lastIndex {
				s.laterOffset, s.laterIndex = m-n, rec.Index
				return s
			}
		}
		m++
	}
	return s
}

// tidwallOptions are the options every tidwall log of this package uses:
// shoal fsyncs itself (NoSync) and may empty the log (AllowEmpty).
func tidwallOptions(segmentSize int) *twal.Options {
	return &twal.Options{
		NoSync:           true,
		SegmentSize:      segmentSize,
		LogFormat:        twal.Binary,
		SegmentCacheSize: 2,
		AllowEmpty:       true,
		DirPerms:         0o750,
		FilePerms:        0o640,
	}
}

// repairSegments prepares a tidwall directory for Open: it lets tidwall
// finish an interrupted truncation, removes leftover temp files, and cuts a
// torn or corrupt tail off the last segment. base maps tidwall indexes to
// shoal's. It returns an error wrapping ErrCorrupt when the damage is not at
// the tail.
func repairSegments(dir string, base uint64, segmentSize int, logger *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".TEMP") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	segs, unfinished, err := listSegments(dir)
	if err != nil {
		return err
	}
	if unfinished {
		// tidwall completes an interrupted TruncateFront/TruncateBack at the
		// start of Open, before it reads the last segment. Let it, then close.
		// ErrCorrupt here is a torn tail, repaired below.
		tl, err := twal.Open(dir, tidwallOptions(segmentSize))
		if err == nil {
			err = tl.Close()
		}
		if err != nil && !errors.Is(err, twal.ErrCorrupt) {
			return fmt.Errorf("finish interrupted truncation in %s: %w", dir, err)
		}
		if segs, unfinished, err = listSegments(dir); err != nil {
			return err
		}
		if unfinished {
			return fmt.Errorf("%w: %s: both .START and .END truncation files present", ErrCorrupt, dir)
		}
	}
	if len(segs) == 0 {
		return nil
	}
	if len(segs) > 1 {
		// Before cutting anything, make sure the log is the one the
		// metadata describes: its first record must carry the index the
		// base maps it to. (A single segment is checked by the scan below.)
		if err := checkFirstRecord(segs[0], base); err != nil {
			return err
		}
	}
	last := segs[len(segs)-1]
	data, err := os.ReadFile(last.path)
	if err != nil {
		return err
	}
	first := last.index + base
	s := scanSegment(data, first)
	if s.damage == damageNone {
		return nil
	}
	name := filepath.Base(last.path)
	if s.laterOffset >= 0 {
		return fmt.Errorf("%w: segment %s: %v, but intact record %d follows at offset %d: "+
			"corruption in the middle of the log is not repaired", ErrCorrupt, name, s.damageErr, s.laterIndex, s.laterOffset)
	}
	if s.damage == damageIndex && s.goodRecords == 0 && len(segs) == 1 {
		return fmt.Errorf("%w: segment %s: %v: the log does not match its metadata (%s); refusing to cut the whole log",
			ErrCorrupt, name, s.damageErr, metaName)
	}
	f, err := os.OpenFile(last.path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(int64(s.goodBytes))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cut tail of %s: %w", last.path, err)
	}
	logger.Warn("wal: cut torn or corrupt tail of the log",
		"segment", last.path, "offset", s.goodBytes, "bytes_cut", len(data)-s.goodBytes,
		"entries_cut", s.cutEntries, "last_good_index", s.lastIndex, "reason", s.damageErr.Error())
	return nil
}

// checkFirstRecord verifies that the first record of segment seg decodes
// and carries index seg.index+base.
func checkFirstRecord(seg segmentFile, base uint64) error {
	f, err := os.Open(seg.path)
	if err != nil {
		return err
	}
	defer f.Close()
	var head [binary.MaxVarintLen64]byte
	n, _ := io.ReadFull(f, head[:])
	size, k := binary.Uvarint(head[:n])
	if k <= 0 || size > uint64(seg.size)-uint64(k) {
		return fmt.Errorf("%w: segment %s: first entry is cut short", ErrCorrupt, seg.path)
	}
	entry := make([]byte, size)
	if _, err := f.ReadAt(entry, int64(k)); err != nil {
		return fmt.Errorf("segment %s: %w", seg.path, err)
	}
	rec, err := DecodeRecord(entry)
	if err != nil {
		return fmt.Errorf("segment %s: first record: %w", seg.path, err)
	}
	if want := seg.index + base; rec.Index != want {
		return fmt.Errorf("%w: segment %s starts with record %d where %s says %d: the log does not match its metadata",
			ErrCorrupt, seg.path, rec.Index, metaName, want)
	}
	return nil
}
