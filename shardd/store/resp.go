package store

import (
	"bytes"
	"errors"
	"io"

	"github.com/shoal-kv/shoal/proto"
)

// effectReader decodes the effects recorded by Store.propagate
// (proto.AppendCommand).
type effectReader struct {
	src bytes.Reader
	r   *proto.Reader
}

func newEffectReader(b []byte) *effectReader {
	e := &effectReader{}
	e.src.Reset(b)
	// A buffer the size of the effects (not the 16 KB default): replicas
	// and restarts decode one small record after another.
	e.r = proto.NewReaderSize(&e.src, proto.DefaultLimits(), min(len(b)+16, proto.DefaultBufferSize))
	return e
}

// effectReaderFor returns the store's effect reader reset to read b: a
// replica applies hundreds of thousands of records a second, and a new
// reader per record was most of its garbage.
func (s *Store) effectReaderFor(b []byte) *effectReader {
	if s.effRd == nil {
		s.effRd = newEffectReader(b)
		return s.effRd
	}
	s.effRd.src.Reset(b)
	s.effRd.r.Reset(&s.effRd.src)
	return s.effRd
}

// next returns the next effect command, or io.EOF after the last. The args
// are valid until the following call.
func (e *effectReader) next() ([][]byte, error) {
	args, err := e.r.ReadCommand()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	return args, err
}
