package config

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// decodePlist decodes an XML property list whose root is a dict into the
// shapes decodeJSONObject yields (map[string]any, []any, string, bool,
// json.Number), so one checker serves JSON, plist and registry policy.
// Binary plists are refused: managed preferences are written as XML by MDM
// profiles (and "plutil -convert xml1" converts others).
//
// Format: Apple's "Property List Programming Guide", XML plist DTD
// (http://www.apple.com/DTDs/PropertyList-1.0.dtd).
func decodePlist(b []byte) (map[string]any, error) {
	if bytes.HasPrefix(b, []byte("bplist")) {
		return nil, errors.New("binary property list: convert it with plutil -convert xml1")
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("property list: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Local == "plist" {
			continue
		}
		v, err := plistValue(d, se)
		if err != nil {
			return nil, fmt.Errorf("property list: %w", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errors.New("property list: root is not a dict")
		}
		return m, nil
	}
}

// plistValue decodes the element se has opened, up to its end.
func plistValue(d *xml.Decoder, se xml.StartElement) (any, error) {
	switch se.Name.Local {
	case "dict":
		m := map[string]any{}
		for {
			key, end, err := nextElement(d)
			if err != nil {
				return nil, err
			}
			if end {
				return m, nil
			}
			if key.Name.Local != "key" {
				return nil, fmt.Errorf("dict: want <key>, got <%s>", key.Name.Local)
			}
			k, err := text(d)
			if err != nil {
				return nil, err
			}
			val, end, err := nextElement(d)
			if err != nil {
				return nil, err
			}
			if end {
				return nil, fmt.Errorf("dict: key %q has no value", k)
			}
			v, err := plistValue(d, val)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
	case "array":
		list := []any{}
		for {
			el, end, err := nextElement(d)
			if err != nil {
				return nil, err
			}
			if end {
				return list, nil
			}
			v, err := plistValue(d, el)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
	case "string":
		return text(d)
	case "integer":
		s, err := text(d)
		if err != nil {
			return nil, err
		}
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return nil, fmt.Errorf("integer %q", s)
		}
		return json.Number(s), nil
	case "true", "false":
		if err := d.Skip(); err != nil {
			return nil, err
		}
		return se.Name.Local == "true", nil
	}
	return nil, fmt.Errorf("unsupported element <%s>", se.Name.Local)
}

// nextElement returns the next start element, or end=true at the parent's
// end element.
func nextElement(d *xml.Decoder) (xml.StartElement, bool, error) {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return xml.StartElement{}, false, io.ErrUnexpectedEOF
		}
		if err != nil {
			return xml.StartElement{}, false, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, false, nil
		case xml.EndElement:
			return xml.StartElement{}, true, nil
		}
	}
}

// text reads character data up to the current element's end.
func text(d *xml.Decoder) (string, error) {
	var sb strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.EndElement:
			return strings.TrimSpace(sb.String()), nil
		case xml.StartElement:
			return "", fmt.Errorf("unexpected <%s> in text", t.Name.Local)
		}
	}
}
