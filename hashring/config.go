package hashring

import (
	"errors"
	"fmt"
)

// Algorithm names accepted in [Config.Algorithm].
const (
	AlgorithmMaglev   = "maglev"
	AlgorithmRingHash = "ringhash"
)

// Limits and defaults.
const (
	// DefaultTableSize is the Maglev table size: the paper's and Envoy's
	// default, a prime. It keeps shares within 1 % of each other up to about
	// 650 shards (the paper's rule M > 100·N).
	DefaultTableSize = 65537
	// MaxTableSize is the largest accepted Maglev table size (Envoy's
	// maximum). A table of this size takes 10 MB and took 0.25–0.65 s to
	// build here (10–1000 shards), against about 2 ms for the default.
	MaxTableSize = 5000011

	// DefaultVirtualNodes is the ring-hash points per unit of weight. With
	// 1000 points per shard every shard's exact share of the circle was
	// within 0.93–1.12× of the mean for the shard sets of
	// TestRingHashBalance (N = 3, 10, 100), which asserts ±15 %; ketama's
	// 160 gave 0.82–1.20× at N = 100. Cost at N = 100: 100k points, about
	// 1.5 MB, a build of about 20 ms; lookups stay O(1) through a bucket
	// index.
	DefaultVirtualNodes = 1000
	// MaxRingPoints caps the total number of ring-hash points (sum of
	// weights × VirtualNodes), as Envoy caps its ring at 8M entries.
	MaxRingPoints = 8 << 20

	// MaxShards is the largest shard set a Ring accepts (shard indices are
	// stored as uint16).
	MaxShards = 65535
)

// ErrInvalidConfig is wrapped by every error [Config.Validate] returns.
var ErrInvalidConfig = errors.New("hashring: invalid config")

// ConfigError names the Config field that failed validation. It matches
// ErrInvalidConfig with errors.Is.
type ConfigError struct {
	Field  string // Go field name, e.g. "TableSize"
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("hashring: invalid config: %s: %s", e.Field, e.Reason)
}

// Is reports whether target is ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// Config selects and tunes the hashing algorithm. Its config-file section is
// "hashring". Every frontend of a cluster must use the same Config: it is
// part of the routing contract (see the package doc).
type Config struct {
	// Algorithm is "maglev" (default) or "ringhash".
	Algorithm string `mapstructure:"algorithm"`
	// TableSize is the Maglev lookup table size M. It must be a prime,
	// at most MaxTableSize, and at least the number of shards (checked by
	// New). Larger tables move fewer extra keys on membership changes at
	// the cost of memory (2 bytes per entry) and build time. Default 65537.
	// Used only by "maglev"; ignored when zero and Algorithm is "ringhash".
	TableSize uint64 `mapstructure:"table_size"`
	// VirtualNodes is the number of ring-hash points per unit of shard
	// weight. More points give better balance and slower builds and
	// lookups. Default 1000. Used only by "ringhash"; ignored when zero and
	// Algorithm is "maglev".
	VirtualNodes int `mapstructure:"virtual_nodes"`
}

// DefaultConfig returns Maglev with a 65537-entry table (and the ring-hash
// default of 1000 virtual nodes, used if Algorithm is switched to "ringhash").
func DefaultConfig() Config {
	return Config{
		Algorithm:    AlgorithmMaglev,
		TableSize:    DefaultTableSize,
		VirtualNodes: DefaultVirtualNodes,
	}
}

// Validate checks the fields the selected algorithm uses, and any non-zero
// field of the other algorithm too, so a bad value is reported even before it
// is used. Errors are *ConfigError values naming the field.
func (c Config) Validate() error {
	switch c.Algorithm {
	case AlgorithmMaglev, AlgorithmRingHash:
	default:
		return &ConfigError{Field: "Algorithm", Reason: fmt.Sprintf("%q is not %q or %q", c.Algorithm, AlgorithmMaglev, AlgorithmRingHash)}
	}
	if c.Algorithm == AlgorithmMaglev || c.TableSize != 0 {
		switch {
		case c.TableSize < 2:
			return &ConfigError{Field: "TableSize", Reason: fmt.Sprintf("%d is too small (must be a prime)", c.TableSize)}
		case c.TableSize > MaxTableSize:
			return &ConfigError{Field: "TableSize", Reason: fmt.Sprintf("%d is over the maximum %d", c.TableSize, MaxTableSize)}
		case !isPrime(c.TableSize):
			return &ConfigError{Field: "TableSize", Reason: fmt.Sprintf("%d is not prime", c.TableSize)}
		}
	}
	if c.Algorithm == AlgorithmRingHash || c.VirtualNodes != 0 {
		switch {
		case c.VirtualNodes < 1:
			return &ConfigError{Field: "VirtualNodes", Reason: fmt.Sprintf("%d must be at least 1", c.VirtualNodes)}
		case c.VirtualNodes > MaxRingPoints:
			return &ConfigError{Field: "VirtualNodes", Reason: fmt.Sprintf("%d is over the maximum %d", c.VirtualNodes, MaxRingPoints)}
		}
	}
	return nil
}

// isPrime reports whether n is prime, by trial division (n ≤ MaxTableSize, so
// at most ~1100 divisions).
func isPrime(n uint64) bool {
	if n < 2 {
		return false
	}
	if n%2 == 0 {
		return n == 2
	}
	for d := uint64(3); d*d <= n; d += 2 {
		if n%d == 0 {
			return false
		}
	}
	return true
}
