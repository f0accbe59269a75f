package localapi

import (
	"strings"

	"github.com/sithseid/sithseid/app"
)

// ReaderKeyPrefix starts the CardKey of a card whose number is unknown.
const ReaderKeyPrefix = "reader:"

// CardKey names one card among those inserted, for the windows' --card
// and their card picker: its card number, or for a card without one,
// ReaderKeyPrefix and its reader's name. An empty card number is never
// taken for "no card chosen".
func CardKey(number, reader string) string {
	if number != "" {
		return number
	}
	return ReaderKeyPrefix + reader
}

// KeySelector is the selector for a CardKey: by reader for a card without
// a number, else by number; "" selects nothing in particular.
func KeySelector(key string) app.Selector {
	if reader, ok := strings.CutPrefix(key, ReaderKeyPrefix); ok {
		return app.Selector{Reader: reader}
	}
	return app.Selector{CardNumber: key}
}
