//go:build windows

package config

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/windows/registry"

	"github.com/sithseid/sithseid/environment"
)

// readSystemPolicy reads HKLM\Software\Policies\SITHS eID, where Group
// Policy (ADMX) and the MSI write. Values: REG_SZ for strings, REG_DWORD
// 0/1 for booleans, REG_SZ "30,14,7" or REG_MULTI_SZ for lists;
// per-environment values under the subkey Environments\<NAME>.
func (c *Config) readSystemPolicy() error {
	where := `HKLM\` + WindowsPolicyKey
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, WindowsPolicyKey, registry.READ)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &FileError{Path: where, Err: err}
	}
	defer k.Close()
	raw, err := readRegistryValues(k)
	if err != nil {
		return &FileError{Path: where, Err: err}
	}
	envs := map[string]any{}
	for _, name := range environment.Names {
		ek, err := registry.OpenKey(k, `Environments\`+name, registry.READ)
		if errors.Is(err, registry.ErrNotExist) {
			continue
		}
		if err != nil {
			return &FileError{Path: where + `\Environments\` + name, Err: err}
		}
		vals, err := readRegistryValues(ek)
		ek.Close()
		if err != nil {
			return &FileError{Path: where + `\Environments\` + name, Err: err}
		}
		envs[name] = vals
	}
	if len(envs) > 0 {
		raw["environments"] = envs
	}
	return c.mergePolicy(raw, where)
}

func readRegistryValues(k registry.Key) (map[string]any, error) {
	names, err := k.ReadValueNames(0)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, stored := range names {
		// Registry value names are case-insensitive: "LogLevel" from an
		// ADMX template is logLevel.
		n := canonicalKey(stored)
		_, typ, err := k.GetValue(stored, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		switch typ {
		case registry.SZ, registry.EXPAND_SZ:
			s, _, err := k.GetStringValue(stored)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			if specs[n].kind == kindBool {
				out[n] = s == "1" || s == "true"
				continue
			}
			out[n] = s
		case registry.DWORD, registry.QWORD:
			v, _, err := k.GetIntegerValue(stored)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			out[n] = v
		case registry.MULTI_SZ:
			v, _, err := k.GetStringsValue(stored)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			if specs[n].kind == kindInts {
				out[n] = strings.Join(v, ",")
				continue
			}
			out[n] = v
		default:
			return nil, fmt.Errorf("%s: unsupported registry type %d", n, typ)
		}
	}
	return out, nil
}

// canonicalKey maps a value name to the configuration key it names in any
// case (top-level keys and the per-environment serviceURL and
// trustAnchorsFile); other names come back unchanged (and are warned about
// as unknown).
func canonicalKey(name string) string {
	for _, k := range append(Keys(), KeyUserMayOverride, envKeyServiceURL, envKeyTrustAnchorsFile) {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}
