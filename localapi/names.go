package localapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// checkNames walks one JSON value against the Go type it decodes into:
// every object's names must be unique, and in a struct each must be exactly
// one of its fields' JSON names. encoding/json alone matches names without
// regard to case and lets a repeated name win, so {"Type":"call",…} or
// {"method":"ping","method":"pin.change"} would pass it. The walk reads
// names only: values are skipped, never copied (a frame may carry a PIN),
// and the frame is parsed in place (jsontext reads a bytes.Buffer without
// copying it).
func checkNames(data []byte, t reflect.Type) error {
	dec := jsontext.NewDecoder(bytes.NewBuffer(data))
	return walkNames(dec, t)
}

func walkNames(dec *jsontext.Decoder, t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler)) {
		t = nil // its own decoding decides its names; repeats are still refused
	}
	switch dec.PeekKind() {
	case '{':
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		}
		for dec.PeekKind() != '}' {
			tok, err := dec.ReadToken() // a repeated name is an error here
			if err != nil {
				return err
			}
			var vt reflect.Type
			switch {
			case fields != nil:
				ft, ok := fields[tok.String()]
				if !ok {
					return fmt.Errorf("name %q is not one of %s's", tok.String(), t.Name())
				}
				vt = ft
			case t != nil && t.Kind() == reflect.Map:
				vt = t.Elem()
			}
			if err := walkNames(dec, vt); err != nil {
				return err
			}
		}
		_, err := dec.ReadToken()
		return err
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for dec.PeekKind() != ']' {
			if err := walkNames(dec, et); err != nil {
				return err
			}
		}
		_, err := dec.ReadToken()
		return err
	case 0:
		_, err := dec.ReadToken() // the error that stopped the peek
		if err == nil {
			err = errors.New("no JSON value")
		}
		return err
	}
	return dec.SkipValue()
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps the JSON names of struct type t's fields, as
// encoding/json sees them (tag name, else the field name; embedded structs
// without a tag flattened; "-" and unexported fields left out), to their
// types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for n, t := range jsonFields(ft) {
					m[n] = t
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}
