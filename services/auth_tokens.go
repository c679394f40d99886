package services

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"refit/models"
)

// TokenPrefix starts every API token, so a leaked one is easy to recognise
// (and to search for in logs and repositories).
const TokenPrefix = "refit_"

// CreateToken makes a personal API token for p's user and returns its
// secret, which is not stored and cannot be shown again.
func (a *Auth) CreateToken(p models.Principal, name string) (string, models.APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 64 {
		return "", models.APIToken{}, fmt.Errorf("%w: token name must be 1 to 64 characters", models.ErrInvalid)
	}
	if p.UserID == 0 {
		return "", models.APIToken{}, fmt.Errorf("%w: API tokens need auth on and a signed-in user", models.ErrInvalid)
	}
	secret := TokenPrefix + newSecret(32)
	t := models.APIToken{UserID: p.UserID, Name: name, Hash: hashSecret(secret), Prefix: secret[:len(TokenPrefix)+6]}
	err := a.db.Create(&t).Error
	a.record(p, models.AuditTokenCreate, name, err)
	if err != nil {
		return "", models.APIToken{}, fmt.Errorf("create token: %w", err)
	}
	return secret, t, nil
}

// Tokens lists p's own tokens, newest first.
func (a *Auth) Tokens(p models.Principal) ([]models.APIToken, error) {
	out := []models.APIToken{}
	if err := a.db.Where("user_id = ?", p.UserID).Order("created_at desc, id desc").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken deletes one of p's own tokens. Returns
// models.ErrTokenNotFound for anyone else's.
func (a *Auth) RevokeToken(p models.Principal, id string) error {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return models.ErrTokenNotFound
	}
	var t models.APIToken
	err = a.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Take(&t, "id = ? AND user_id = ?", n, p.UserID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return models.ErrTokenNotFound
			}
			return err
		}
		return tx.Delete(&t).Error
	})
	target := t.Name
	if target == "" {
		target = "#" + id
	}
	a.record(p, models.AuditTokenRevoke, target, err)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	return nil
}

// tokenPrincipal returns the owner of the token with the owner's current
// role, and notes when the token was last used (at most once a minute).
func (a *Auth) tokenPrincipal(secret, addr string) (models.Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return models.Principal{}, fmt.Errorf("not a refit token: %w", models.ErrUnauthorized)
	}
	var t models.APIToken
	if err := a.db.Take(&t, "hash = ?", hashSecret(secret)).Error; err != nil {
		return models.Principal{}, fmt.Errorf("unknown token: %w", models.ErrUnauthorized)
	}
	var u models.User
	if err := a.db.Take(&u, t.UserID).Error; err != nil {
		return models.Principal{}, fmt.Errorf("token owner %d: %w", t.UserID, models.ErrUnauthorized)
	}
	now := a.opts.Now().UTC()
	if now.Sub(t.LastUsedAt) >= time.Minute {
		if err := a.db.Model(&t).Update("last_used_at", now).Error; err != nil {
			a.log.Warn("recording token use failed", "token_id", t.ID, "error", err)
		}
	}
	return models.Principal{UserID: u.ID, Name: u.Name, Role: u.Role, Via: models.ViaToken, Addr: addr}, nil
}
