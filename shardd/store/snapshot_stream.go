package store

import (
	"bufio"
	"fmt"
	"io"
)

// SnapshotDecoder reads a snapshot (the format Snapshot.Next produces) one
// key at a time, without touching any store: a cached replica decodes its
// master's snapshot as it arrives and keeps only the keys its memory bound
// admits, instead of loading the whole keyspace at once (LoadSnapshot).
// It is not safe for concurrent use.
type SnapshotDecoder struct {
	r    *snapReader
	done bool
}

// SnapshotKey is one decoded key with its value and expiry.
type SnapshotKey struct {
	key string
	e   entry
}

// Key returns the key's name.
func (k *SnapshotKey) Key() string { return k.key }

// NewSnapshotDecoder returns a decoder reading from rd.
func NewSnapshotDecoder(rd io.Reader) *SnapshotDecoder {
	return &SnapshotDecoder{r: &snapReader{r: bufio.NewReaderSize(rd, 64<<10)}}
}

// Next returns the next key, or io.EOF after the snapshot's end marker.
// Decoding errors wrap ErrBadSnapshot.
func (d *SnapshotDecoder) Next() (*SnapshotKey, error) {
	if d.done {
		return nil, io.EOF
	}
	r := d.r
	typ := r.byte()
	if r.err != nil {
		return nil, r.err
	}
	if typ == recEnd {
		d.done = true
		return nil, io.EOF
	}
	key := string(r.bytes())
	exp := r.varint()
	var val any
	switch typ {
	case recString:
		val = r.bytes()
	case recRaw:
		val = rawString(r.bytes())
	case recHash:
		val = decodeHash(r)
	case recList:
		val = decodeList(r)
	case recSet:
		val = decodeSet(r)
	case recZSet:
		val = decodeZSet(r)
	default:
		r.fail(fmt.Errorf("unknown record type %d", typ))
	}
	if r.err != nil {
		return nil, r.err
	}
	return &SnapshotKey{key: key, e: entry{val: val, exp: exp}}, nil
}

// Insert stores a decoded key, replacing any value it had, without
// recording an effect. The SnapshotKey must not be inserted twice.
func (s *Store) Insert(k *SnapshotKey) {
	s.setKey([]byte(k.key), k.e.val, k.e.exp)
	s.touch(k.key)
}
