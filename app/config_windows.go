//go:build windows

package app

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/windows/registry"
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
		return &ConfigFileError{Path: where, Err: err}
	}
	defer k.Close()
	raw, err := readRegistryValues(k)
	if err != nil {
		return &ConfigFileError{Path: where, Err: err}
	}
	envs := map[string]any{}
	for _, name := range envNames {
		ek, err := registry.OpenKey(k, `Environments\`+name, registry.READ)
		if errors.Is(err, registry.ErrNotExist) {
			continue
		}
		if err != nil {
			return &ConfigFileError{Path: where + `\Environments\` + name, Err: err}
		}
		vals, err := readRegistryValues(ek)
		ek.Close()
		if err != nil {
			return &ConfigFileError{Path: where + `\Environments\` + name, Err: err}
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
	for _, n := range names {
		_, typ, err := k.GetValue(n, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		switch typ {
		case registry.SZ, registry.EXPAND_SZ:
			s, _, err := k.GetStringValue(n)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			if specs[n].kind == kindBool {
				out[n] = s == "1" || s == "true"
				continue
			}
			out[n] = s
		case registry.DWORD, registry.QWORD:
			v, _, err := k.GetIntegerValue(n)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			out[n] = v
		case registry.MULTI_SZ:
			v, _, err := k.GetStringsValue(n)
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
