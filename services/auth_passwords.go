package services

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"

	"refit/models"
)

// MinPasswordLength is the shortest password refit accepts, in characters.
const MinPasswordLength = 10

// minScore is the zxcvbn score a password needs: 3 means about 10^8
// guesses or more, past what an online attack gets through the throttle.
const minScore = 3

// checkPassword applies the password rules for the user named name. Returns
// an error wrapping models.ErrInvalid that says which rule failed.
func checkPassword(name, pass string) error {
	if utf8.RuneCountInString(pass) < MinPasswordLength {
		return fmt.Errorf("%w: password must be at least %d characters", models.ErrInvalid, MinPasswordLength)
	}
	if len(pass) > 72 { // bcrypt reads no further
		return fmt.Errorf("%w: password must be at most 72 bytes", models.ErrInvalid)
	}
	// Names of one or two letters are in too many good passwords to forbid.
	if utf8.RuneCountInString(name) >= 3 && strings.Contains(strings.ToLower(pass), strings.ToLower(name)) {
		return fmt.Errorf("%w: password must not contain the user name", models.ErrInvalid)
	}
	if first, _ := utf8.DecodeRuneInString(pass); strings.Trim(pass, string(first)) == "" {
		return fmt.Errorf("%w: password must not be one character repeated", models.ErrInvalid)
	}
	if zxcvbn.PasswordStrength(pass, []string{name, "refit"}).Score < minScore {
		return fmt.Errorf("%w: password is too easy to guess (a common password, a keyboard row, a sequence "+
			"or a word with digits); a few unrelated words work well", models.ErrInvalid)
	}
	return nil
}
