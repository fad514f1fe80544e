package main

// null in the JSON the program reads. One rule, for every body (faults,
// expectations, inboxes, the clock), the -faults file and the want
// parameter:
//
//   - a key given null is the key left out, as a client that writes
//     every field of its type sends it (a Go struct of pointers, Jackson,
//     System.Text.Json): {"times": null} is no times, {"forRcpt": null} no
//     forRcpt. encoding/json leaves such a field unset; the readers of the
//     JSON form of a filter, which read it key by key, drop the key.
//   - null anywhere else (the body itself, an element of a list) is
//     refused: there it stands for no value where the API wants one, and
//     encoding/json would take it for the zero value, "" in forRcpt, 0 in
//     onAttempt, {} for the body, a request the client did not write.
//
// nullAt finds such a null, and the error names it by its path, as the
// errors about a value of the wrong type do (wrongType), and says what to
// send: `onAttempt[0]: want a whole number, got null: null is not a value
// (as a key's value, it leaves the key out)`.

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
)

// nullValue is a null where a value is wanted.
type nullValue struct {
	path  string // "onAttempt[0]", "to[0]"; "" for the whole value
	off   int64  // where the null starts in the data
	shape string // what to send instead (jsonShape)
}

func (n *nullValue) Error() string {
	msg := "want " + n.shape + ", got null: null is not a value (as a key's value, it leaves the key out)"
	if n.path != "" {
		msg = clip(n.path) + ": " + msg
	}
	return msg
}

// nullAt returns the first null of data, JSON decoded into t already,
// that is not a key's value: the whole value, or an element of a list at
// any depth. A value whose type decodes itself (json.Unmarshaler, such as
// a json.RawMessage) is not looked into: its own reader checks it. A nil
// t is a value of any shape.
func nullAt(data []byte, t reflect.Type) (*nullValue, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	n, _ := findNull(dec, t, nil, false)
	return n, n != nil
}

// findNull reads the next value of dec, decoded into t, at path, a key's
// value when keyed, and returns the first null in it that is not a key's
// value; an error only when dec's data is not valid JSON. The path of
// each value is path with a segment appended, in path's array: a value
// 10,000 levels deep does not make a path for each level.
func findNull(dec *json.Decoder, t reflect.Type, path []byte, keyed bool) (*nullValue, error) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)) {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		if !keyed && isNull(raw) {
			return &nullValue{string(path), dec.InputOffset() - int64(len("null")), nullShape(t)}, nil
		}
		return nil, nil
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case nil:
		if keyed {
			return nil, nil
		}
		return &nullValue{string(path), dec.InputOffset() - int64(len("null")), nullShape(t)}, nil
	case json.Delim('{'):
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := tok.(string)
			var vt reflect.Type // unknown: any shape
			if t != nil {
				switch t.Kind() {
				case reflect.Struct:
					if f, ok := jsonField(t, key); ok {
						vt = f.Type
						key, _ = jsonKey(f)
					}
				case reflect.Map:
					vt = t.Elem()
				}
			}
			at := path
			if len(at) > 0 {
				at = append(at, '.')
			}
			if n, err := findNull(dec, vt, append(at, key...), true); n != nil || err != nil {
				return n, err
			}
		}
		_, err := dec.Token() // }
		return nil, err
	case json.Delim('['):
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			at := strconv.AppendInt(append(path, '['), int64(i), 10)
			if n, err := findNull(dec, et, append(at, ']'), false); n != nil || err != nil {
				return n, err
			}
		}
		_, err := dec.Token() // ]
		return nil, err
	}
	return nil, nil
}

// nullShape says what to send in place of a null decoded into t.
func nullShape(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	return jsonShape(t)
}
