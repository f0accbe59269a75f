package cardreader

import "fmt"

// Candidate is one card the app could act on: where it sits and what
// identifies it.
type Candidate struct {
	Reader     string
	CardID     string // Card.ID: CHUID GUID or serial
	CardNumber string // the number printed on the card (Identity.CardNumber)
}

// Selector picks the user's card. Fields are compared for equality, never
// as substrings: reader names differ between machines and VDI redirection
// rewrites them, so "contains 'Yubi'" picks the wrong card sooner or later.
// Empty fields match everything.
type Selector struct {
	CardNumber string
	CardID     string
	Reader     string // the exact PC/SC reader name
}

// Select returns the one candidate that matches s. With no criteria and
// several cards, or several matches, it returns ErrAmbiguousCard; with no
// match, ErrNoCard.
func (s Selector) Select(cands []Candidate) (Candidate, error) {
	var match []Candidate
	for _, c := range cands {
		if s.CardNumber != "" && c.CardNumber != s.CardNumber {
			continue
		}
		if s.CardID != "" && c.CardID != s.CardID {
			continue
		}
		if s.Reader != "" && c.Reader != s.Reader {
			continue
		}
		match = append(match, c)
	}
	switch len(match) {
	case 0:
		return Candidate{}, fmt.Errorf("selecting card: %w", ErrNoCard)
	case 1:
		return match[0], nil
	}
	return Candidate{}, fmt.Errorf("selecting card (%d match): %w", len(match), ErrAmbiguousCard)
}
