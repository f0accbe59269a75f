package piv

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// TestTwoCards: two cards in two readers at once. The user's card is found
// by its card number, and both cards sign at the same time.
func TestTwoCards(t *testing.T) {
	p := rig.Require(t)
	rig.WaitAbsent(t, p.Reader(0))
	rig.WaitAbsent(t, p.Reader(1))
	specs := []testpki.CardSpec{
		{GivenName: "Anna", HSAID: "SE2321000016-A001"},
		{GivenName: "Bertil", HSAID: "SE2321000016-B002", PersonalNumber: "197212240019", Key: testpki.P256},
	}
	var vcs []*rig.Card
	for i, spec := range specs {
		vcs = append(vcs, p.InsertCard(t, i, vcard.ProvisionOptions{Spec: spec}, vcard.RunOptions{}))
	}
	ctx := context.Background()
	backend := New(Options{})
	cache := cardreader.NewIdentityCache(0)
	var cands []cardreader.Candidate
	cards := map[string]cardreader.Card{}
	for _, vc := range vcs {
		c, err := cardreader.Open(ctx, cardreader.Reader{Name: vc.Reader, CardPresent: true}, backend)
		if err != nil {
			t.Fatal(err)
		}
		id, err := cache.Identity(ctx, c, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		cardID, _ := c.ID(ctx)
		cands = append(cands, cardreader.Candidate{Reader: vc.Reader, CardID: cardID, CardNumber: id.CardNumber})
		cards[vc.Reader] = c
	}
	if cands[0].CardID == cands[1].CardID || cands[0].CardNumber == cands[1].CardNumber {
		t.Fatalf("cards not told apart: %+v", cands)
	}
	bertil, err := cardreader.Selector{CardNumber: cands[1].CardNumber}.Select(cands)
	if err != nil || bertil.Reader != p.Reader(1) {
		t.Fatalf("select by card number: %+v %v", bertil, err)
	}
	id, _ := cache.Identity(ctx, cards[bertil.Reader], time.Now())
	if id.HSAID != "SE2321000016-B002" || id.Holder.GivenName != "Bertil" {
		t.Errorf("selected card's identity %+v", id.Holder)
	}

	digest := sha256.Sum256([]byte("two cards"))
	var wg sync.WaitGroup
	for _, vc := range vcs {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := cards[vc.Reader].Signer(ctx, "9a", secret(vc.PIN))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
					t.Errorf("%s: %v", vc.Reader, err)
				}
			}()
		}
	}
	wg.Wait()
	for _, vc := range vcs {
		if n := vc.Server.Stats().Signatures; n != 3 {
			t.Errorf("%s: %d signatures", vc.Reader, n)
		}
	}
}
