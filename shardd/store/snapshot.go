package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
)

// Snapshots are taken while the server keeps serving. BeginSnapshot fixes
// the moment; Next serializes the keyspace a chunk at a time (the owner
// holds its lock for each chunk only); a write to a key the snapshot has not
// reached yet first saves the key's old value (copy on write, per key), so
// the snapshot is exactly the keyspace as it was at BeginSnapshot.
//
// Each key carries a mark: the generation of the snapshot that no longer
// needs its current value (already written, saved aside, or created after
// the snapshot began).

// ErrSnapshotInProgress is returned by BeginSnapshot while one is running.
var ErrSnapshotInProgress = errors.New("store: a snapshot is already in progress")

// ErrBadSnapshot wraps every decoding failure of LoadSnapshot.
var ErrBadSnapshot = errors.New("store: bad snapshot")

type snapshotState struct {
	gen     uint32
	m       map[string]entry // the map being iterated (FLUSHALL installs a new one)
	keysGen uint64           // the store's keysGen when m was current
	next    func() (string, bool)
	stop    func()
	saved   map[string]entry // old values of keys written before the snapshot reached them
	done    bool
}

// Snapshot is an in-progress snapshot. Its methods must be called with the
// store's owner lock held, like every Store method.
type Snapshot struct {
	s     *Store
	st    *snapshotState
	Keys  int // keys written so far
	saved []string
}

var snapGen uint32

// BeginSnapshot starts a snapshot of the keyspace as it is now.
func (s *Store) BeginSnapshot() (*Snapshot, error) {
	if s.snap != nil {
		return nil, ErrSnapshotInProgress
	}
	snapGen++
	m := s.keys
	next, stop := pull(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
	s.snap = &snapshotState{gen: snapGen, m: m, keysGen: s.keysGen, next: next, stop: stop, saved: make(map[string]entry)}
	return &Snapshot{s: s, st: s.snap}, nil
}

// snapshotBeforeWrite saves key's current value if a snapshot still needs it.
func (s *Store) snapshotBeforeWrite(key string, old entry, existed bool) {
	sn := s.snap
	if sn == nil || !existed || old.mark == sn.gen {
		return
	}
	if _, dup := sn.saved[key]; dup {
		return
	}
	if o, ok := old.val.(object); ok {
		old.val = o.clone()
	}
	sn.saved[key] = old
}

// snapshotBeforeFlush: the iterated map is left as it was (FLUSHALL installs
// a new one), so nothing needs saving.
func (s *Store) snapshotBeforeFlush() {}

// Next appends up to maxKeys serialized keys to dst. done is true when the
// whole snapshot has been produced (the end marker is appended then).
func (sn *Snapshot) Next(dst []byte, maxKeys int) (out []byte, done bool) {
	st := sn.st
	if st.done {
		return dst, true
	}
	n := 0
	for n < maxKeys {
		k, ok := st.next()
		if !ok {
			break
		}
		e, present := st.m[k]
		if !present || e.mark == st.gen {
			continue
		}
		dst = appendRecord(dst, k, e)
		e.mark = st.gen
		if st.keysGen == sn.s.keysGen {
			st.m[k] = e
		}
		n++
		sn.Keys++
	}
	if n == maxKeys {
		return dst, false
	}
	// Iteration finished: write the saved old values, a chunk at a time.
	if sn.saved == nil {
		sn.saved = make([]string, 0, len(st.saved))
		for k := range st.saved {
			sn.saved = append(sn.saved, k)
		}
	}
	for len(sn.saved) > 0 && n < maxKeys {
		k := sn.saved[len(sn.saved)-1]
		sn.saved = sn.saved[:len(sn.saved)-1]
		dst = appendRecord(dst, k, st.saved[k])
		n++
		sn.Keys++
	}
	if len(sn.saved) > 0 {
		return dst, false
	}
	dst = append(dst, recEnd)
	st.done = true
	return dst, true
}

// Close ends the snapshot (finished or not) and stops copy-on-write.
func (sn *Snapshot) Close() {
	if sn.s.snap == sn.st {
		sn.st.stop()
		sn.s.snap = nil
	}
}

// Record types in the snapshot format.
const (
	recString byte = 1 // []byte value
	recRaw    byte = 2 // rawString value
	recHash   byte = 3
	recList   byte = 4
	recSet    byte = 5
	recZSet   byte = 6
	recEnd    byte = 0xFF
)

// appendRecord serializes one key: type byte, key, expiry, value.
func appendRecord(dst []byte, key string, e entry) []byte {
	var typ byte
	switch e.val.(type) {
	case []byte:
		typ = recString
	case rawString:
		typ = recRaw
	case *hashValue:
		typ = recHash
	case *listValue:
		typ = recList
	case *setValue:
		typ = recSet
	case *zsetValue:
		typ = recZSet
	default:
		panic(fmt.Sprintf("store: snapshot of unknown value type %T", e.val))
	}
	dst = append(dst, typ)
	dst = appendBytes(dst, key)
	dst = binary.AppendVarint(dst, e.exp)
	switch v := e.val.(type) {
	case []byte:
		return appendBytes(dst, v)
	case rawString:
		return appendBytes(dst, v)
	}
	return e.val.(object).appendSnapshot(dst)
}

// appendBytes appends a uvarint length and b: a string in the snapshot
// format (snapReader.bytes reads it).
func appendBytes[T ~string | ~[]byte](dst []byte, b T) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// snapReader decodes the snapshot format. Errors are sticky: after the first
// one every read returns zero values, and err says what went wrong.
type snapReader struct {
	r   *bufio.Reader
	err error
}

func (r *snapReader) fail(err error) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
}

func (r *snapReader) byte() byte {
	if r.err != nil {
		return 0
	}
	b, err := r.r.ReadByte()
	if err != nil {
		r.fail(err)
	}
	return b
}

func (r *snapReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(r.r)
	if err != nil {
		r.fail(err)
	}
	return v
}

func (r *snapReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, err := binary.ReadVarint(r.r)
	if err != nil {
		r.fail(err)
	}
	return v
}

// maxSnapString bounds one string in a snapshot (proto-max-bulk-len).
const maxSnapString = 512 << 20

// snapChunk is the most bytes reads ahead of the data actually read: a
// string's buffer starts at this size and doubles as its bytes arrive, so
// a corrupt length cannot make LoadSnapshot allocate much more than twice
// the input it really has.
const snapChunk = 64 << 10

func (r *snapReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > maxSnapString {
		r.fail(fmt.Errorf("string of %d bytes", n))
		return nil
	}
	b := make([]byte, 0, min(n, snapChunk))
	for uint64(len(b)) < n {
		if len(b) == cap(b) {
			// The last buffer is exactly n bytes: no slack is kept.
			nb := make([]byte, len(b), min(n, 2*uint64(cap(b))))
			copy(nb, b)
			b = nb
		}
		k, err := io.ReadFull(r.r, b[len(b):cap(b)])
		b = b[:len(b)+k]
		if err != nil {
			r.fail(err)
			return nil
		}
	}
	return b
}

// count reads an element count, refusing absurd values.
func (r *snapReader) count() int {
	n := r.uvarint()
	if n > 1<<32 {
		r.fail(fmt.Errorf("count %d", n))
		return 0
	}
	return int(n)
}

// encodedHeader reads the header of a hash, set or sorted set: its encoding
// byte (0 for the small encoding, 1 for the big one) and its element count,
// refusing another encoding, an empty collection (Redis never keeps one)
// and a small encoding holding more than maxSmall elements. name and small
// name the type and its small encoding in errors ("hash", "listpack hash").
// ok is false after a failure.
func (r *snapReader) encodedHeader(name, small, unit string, maxSmall int) (big bool, n int, ok bool) {
	enc := r.byte()
	n = r.count()
	switch {
	case r.err != nil:
	case enc > 1:
		r.fail(fmt.Errorf("%s encoding %d", name, enc))
	case n == 0:
		r.fail(fmt.Errorf("empty %s", name))
	case enc == 0 && n > maxSmall:
		r.fail(fmt.Errorf("%s of %d %s", small, n, unit))
	}
	return enc == 1, n, r.err == nil
}

// LoadSnapshot replaces the keyspace with the snapshot read from rd.
func (s *Store) LoadSnapshot(rd io.Reader) error {
	r := &snapReader{r: bufio.NewReaderSize(rd, 64<<10)}
	keys := make(map[string]entry)
	expires := make(map[string]int64)
	for {
		typ := r.byte()
		if r.err != nil {
			return r.err
		}
		if typ == recEnd {
			break
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
			return r.err
		}
		keys[key] = entry{val: val, exp: exp}
		if exp != 0 {
			expires[key] = exp
		}
	}
	if s.snap != nil {
		s.snap.stop()
		s.snap = nil
	}
	s.keys, s.expires = keys, expires
	s.keysGen++
	s.cursors.reset()
	if s.Flushed != nil {
		s.Flushed()
	}
	return nil
}

// pull is iter.Pull for a push iterator.
func pull[T any](seq func(yield func(T) bool)) (func() (T, bool), func()) {
	return iter.Pull(iter.Seq[T](seq))
}
