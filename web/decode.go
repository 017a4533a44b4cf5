package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/care360/care360"
)

// maxBodyBytes bounds a JSON request body: the largest legitimate one (a
// subscriber profile) is a few hundred bytes.
const maxBodyBytes = 64 << 10

// decodeJSON reads exactly one JSON object into v, strictly: unknown fields,
// trailing data, other JSON values and oversized bodies are EINVALID errors
// with a message a person can act on. A too-large body is a 400 like any
// other bad input, because the error table maps "invalid" to 400 only.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return care360.Errorf(care360.EINVALID, "request body is larger than %d KiB", maxBodyBytes>>10)
		}
		return care360.Errorf(care360.EINVALID, "could not read the request body")
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return care360.Errorf(care360.EINVALID, "request body is empty: send a JSON object")
	}
	// Checked by hand because the decoder accepts null into a struct silently.
	if trimmed[0] != '{' {
		return care360.Errorf(care360.EINVALID, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return care360.Errorf(care360.EINVALID, "request body must hold a single JSON object, with nothing after it")
	}
	return nil
}

// jsonError turns a decoder error into a message that names the problem
// without echoing Go type names.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return care360.Errorf(care360.EINVALID, "malformed JSON at byte %d", syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return care360.Errorf(care360.EINVALID, "malformed JSON: the body ends too early")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return care360.Errorf(care360.EINVALID, "request body must be a JSON object")
		}
		return care360.Errorf(care360.EINVALID, "field %q must be %s", typ.Field, jsonKind(typ.Type))
	case strings.Contains(err.Error(), "unknown field"):
		// encoding/json has no typed error for this; its text names the field.
		_, field, _ := strings.Cut(err.Error(), "unknown field ")
		return care360.Errorf(care360.EINVALID, "unknown field %s", field)
	}
	return care360.Errorf(care360.EINVALID, "malformed JSON body")
}

// jsonKind names a Go type as a JSON client thinks of it.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}
