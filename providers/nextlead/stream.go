package nextlead

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// errNotList is returned when a feed answer is neither an array nor an
// envelope holding one.
var errNotList = errors.New("answer holds no list")

// streamList decodes a list answer token by token, never holding more than
// one item: a bare array, or an envelope {"status":..,"data":[...]} (other
// keys skipped, in any order). each is called with the decoder positioned on
// an item and must decode exactly one value. An envelope carrying "error" and
// no data is reported as an *envelopeError.
func streamList(r io.Reader, each func(dec *json.Decoder) error) error {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("read list: %w", err)
	}
	switch tok {
	case json.Delim('['):
		return streamItems(dec, each)
	case json.Delim('{'):
	default:
		return errNotList
	}
	sawData := false
	var status json.Number
	var msg string
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return fmt.Errorf("read envelope: %w", err)
		}
		key, _ := kt.(string)
		switch key {
		case "data":
			t, err := dec.Token()
			if err != nil {
				return fmt.Errorf("read data: %w", err)
			}
			switch t {
			case json.Delim('['):
				if err := streamItems(dec, each); err != nil {
					return err
				}
				sawData = true
			case nil:
				sawData = true
			default:
				return errNotList
			}
		case "status":
			if err := dec.Decode(&status); err != nil {
				return fmt.Errorf("read status: %w", err)
			}
		case "error":
			if err := dec.Decode(&msg); err != nil {
				return fmt.Errorf("read error: %w", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fmt.Errorf("read envelope: %w", err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("read envelope end: %w", err)
	}
	if msg != "" && !sawData {
		return &envelopeError{status: status.String(), message: msg}
	}
	if !sawData {
		return errNotList
	}
	return nil
}

func streamItems(dec *json.Decoder, each func(dec *json.Decoder) error) error {
	for dec.More() {
		if err := each(dec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("read list end: %w", err)
	}
	return nil
}

// envelopeError is an error envelope received with a 2xx status.
type envelopeError struct {
	status  string
	message string
}

func (e *envelopeError) Error() string { return fmt.Sprintf("status %s: %s", e.status, e.message) }
