package store

import (
	"bytes"
	"errors"
	"io"

	"github.com/shoal-kv/shoal/proto"
)

// effectReader decodes the effects recorded by Store.propagate
// (proto.AppendCommand).
type effectReader struct{ r *proto.Reader }

func newEffectReader(b []byte) *effectReader {
	return &effectReader{r: proto.NewReader(bytes.NewReader(b), proto.DefaultLimits())}
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
