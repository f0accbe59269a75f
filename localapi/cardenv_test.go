package localapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// The state event carries the card's environment: it goes out as
// "environment" on the card, comes back the same, is absent when unknown,
// and a value this version does not know reads as unknown without making
// the rest of the state unreadable.
func TestStateCarriesCardEnvironment(t *testing.T) {
	ev := Event{State: &State{Seq: 7, Cards: 1, Card: &CardSummary{Reader: "r", CardNumber: "9752", Environment: CardEnvTest}}}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"environment":"TEST"`) {
		t.Fatalf("the event %s does not carry the card's environment", b)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.State == nil || back.State.Card == nil || back.State.Card.Environment != CardEnvTest {
		t.Fatalf("decoded %+v", back.State)
	}
	// The names check the server applies to frames knows the field.
	if err := checkNames(b, reflect.TypeOf(&back)); err != nil {
		t.Fatalf("names check: %v", err)
	}

	// Unknown: the field is left out (as from an older agent).
	b, _ = json.Marshal(Event{State: &State{Card: &CardSummary{Reader: "r"}}})
	if strings.Contains(string(b), "environment") {
		t.Fatalf("an unknown environment is sent: %s", b)
	}

	for _, tc := range []struct {
		value   string
		want    CardEnvironment
		refused bool
	}{
		{`"PROD"`, CardEnvProd, false},
		{`"TEST"`, CardEnvTest, false},
		{`null`, "", false},
		{`"QA"`, "", false},   // a newer agent's value: unknown here
		{`"prod"`, "", false}, // exactly so, or unknown
		{`""`, "", false},
		{`1`, "", true},
		{`{"env":"TEST"}`, "", true},
		{`["TEST"]`, "", true},
	} {
		frame := `{"state":{"seq":3,"readers":[],"cards":1,"handoffs":[],"card":{"reader":"r","backend":"piv","cardNumber":"9752","holder":{},"pin":{},"puk":null,"warnings":[],"environment":` + tc.value + `}}}`
		var ev Event
		err := json.Unmarshal([]byte(frame), &ev)
		if tc.refused {
			if err == nil {
				t.Errorf("environment %s: accepted as %q", tc.value, ev.State.Card.Environment)
			}
			continue
		}
		if err != nil {
			t.Errorf("environment %s: %v", tc.value, err)
			continue
		}
		if ev.State.Card.Environment != tc.want || ev.State.Card.CardNumber != "9752" || ev.State.Seq != 3 {
			t.Errorf("environment %s: decoded %q (card %+v)", tc.value, ev.State.Card.Environment, ev.State.Card)
		}
	}
}

func TestCardEnvironmentOfAndMismatch(t *testing.T) {
	for _, tc := range []struct {
		issuer string
		want   CardEnvironment
	}{
		{"CN=SITHS e-id Person HSA-id 3 CA v1 TEST,O=Inera AB,C=SE", CardEnvTest},
		{"CN=SITHS e-id Person HSA-id 3 CA v1,O=Inera AB,C=SE", CardEnvProd},
		{"CN=SITHS e-id Person HSA-id 3 CA v1,O=Testregion AB,C=SE", CardEnvProd},
		{" ", ""},
	} {
		if got := CardEnvironmentOf(tc.issuer); got != tc.want {
			t.Errorf("CardEnvironmentOf(%q) = %q, want %q", tc.issuer, got, tc.want)
		}
	}
	for _, tc := range []struct {
		card CardEnvironment
		app  string
		want bool
	}{
		{CardEnvTest, "PROD", true}, {CardEnvTest, "", true}, {CardEnvTest, "TEST", false}, {CardEnvTest, "qa", false},
		{CardEnvProd, "PROD", false}, {CardEnvProd, "", false}, {CardEnvProd, "TEST", true}, {CardEnvProd, "DEMO", true},
		{"", "PROD", false}, {"", "TEST", false}, {"QA", "PROD", false},
	} {
		if got := tc.card.Mismatches(tc.app); got != tc.want {
			t.Errorf("%q.Mismatches(%q) = %v, want %v", tc.card, tc.app, got, tc.want)
		}
	}
}
