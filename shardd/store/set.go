package store

import "errors"

// setValue is a placeholder until the set commands land.
type setValue struct{ n int }

func (v *setValue) typeName() string                 { return "set" }
func (v *setValue) encoding() string                 { return "" }
func (v *setValue) length() int                      { return v.n }
func (v *setValue) clone() object                    { c := *v; return &c }
func (v *setValue) appendSnapshot(dst []byte) []byte { return dst }

func decodeSet(r *snapReader) object {
	r.fail(errors.New("set values not implemented"))
	return nil
}

func registerSets(m map[string]Cmd) {}
