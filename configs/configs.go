// Package configs maps flags, environment variables and YAML files onto
// the typed configurations of shoal's servers. It is the only package
// besides the mains that uses viper.
//
// Every setting is a flag, a key in a YAML file (--config FILE) under the
// command's section (`shardd:`, `frontend:`), and an environment variable
// SHOAL_<SECTION>_<KEY> with dashes as underscores (SHOAL_SHARDD_DATA_DIR).
// Flags set on the command line win over the environment, the environment
// over the file, the file over the defaults. A key in the file that the
// section does not have is an error that names it.
package configs

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// ErrUnknownKey is wrapped by Load's error for a key the section lacks.
var ErrUnknownKey = errors.New("unknown config key")

// Load fills out (a pointer to a struct with `mapstructure` tags, already
// holding the defaults) for section from, in order of precedence, the flags
// that were set, SHOAL_* environment variables, and the YAML file (when
// file is not empty). Flags are matched to keys by name.
func Load(section string, out any, flags *pflag.FlagSet, file string) error {
	keys, err := structKeys(out)
	if err != nil {
		return err
	}
	v := viper.New()
	v.SetEnvPrefix("SHOAL")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_"))
	v.AutomaticEnv()
	defaults := map[string]any{}
	if err := mapstructure.Decode(out, &defaults); err != nil {
		return fmt.Errorf("configs: reading defaults: %w", err)
	}
	known := map[string]bool{}
	for _, k := range keys {
		known[k] = true
		v.SetDefault(section+"."+k, defaults[k])
	}
	if flags != nil {
		var bindErr error
		flags.VisitAll(func(f *pflag.Flag) {
			if known[f.Name] && f.Changed {
				if err := v.BindPFlag(section+"."+f.Name, f); err != nil {
					bindErr = err
				}
			}
		})
		if bindErr != nil {
			return fmt.Errorf("configs: binding flags: %w", bindErr)
		}
	}
	if file != "" {
		if err := checkFileKeys(file, section, known); err != nil {
			return err
		}
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return fmt.Errorf("configs: reading %s: %w", file, err)
		}
	}
	flat := make(map[string]any, len(keys))
	for _, k := range keys {
		flat[k] = v.Get(section + "." + k)
	}
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           out,
		WeaklyTypedInput: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		),
	})
	if err != nil {
		return fmt.Errorf("configs: %w", err)
	}
	if err := dec.Decode(flat); err != nil {
		return fmt.Errorf("configs: section %s: %w", section, err)
	}
	return nil
}

// checkFileKeys reads the YAML file on its own and rejects any key that is
// not a known key of section (or a top-level section other than known
// sections, which other commands own).
func checkFileKeys(file, section string, known map[string]bool) error {
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("configs: %w", err)
	}
	fv := viper.New()
	fv.SetConfigFile(file)
	if err := fv.ReadInConfig(); err != nil {
		return fmt.Errorf("configs: reading %s: %w", file, err)
	}
	var unknown []string
	for _, k := range fv.AllKeys() {
		sec, key, ok := strings.Cut(k, ".")
		if !ok {
			unknown = append(unknown, k)
			continue
		}
		if !Sections[sec] {
			unknown = append(unknown, k)
			continue
		}
		if sec == section && !known[key] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("configs: %s: %w: %s", file, ErrUnknownKey, strings.Join(unknown, ", "))
	}
	return nil
}

// Sections are the top-level sections a config file may have.
var Sections = map[string]bool{"shardd": true, "frontend": true, "dev": true}

// structKeys lists the mapstructure keys of the struct out points to.
func structKeys(out any) ([]string, error) {
	t := reflect.TypeOf(out)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("configs: Load needs a pointer to a struct, got %T", out)
	}
	t = t.Elem()
	keys := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		keys = append(keys, strings.Split(tag, ",")[0])
	}
	return keys, nil
}
