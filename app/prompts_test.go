package app_test

import (
	"context"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
)

// prompts answers each kind of prompt with its own secret.
func prompts(pin, newPIN, puk string) app.Prompt {
	return func(_ context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
		switch req.Kind {
		case app.PromptNewPIN:
			return cardreader.NewSecret([]byte(newPIN)), nil
		case app.PromptPUK:
			return cardreader.NewSecret([]byte(puk)), nil
		}
		return cardreader.NewSecret([]byte(pin)), nil
	}
}
