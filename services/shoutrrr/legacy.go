package shoutrrr

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nicholas-fedor/shoutrrr/pkg/services/chat/discord"
	"github.com/nicholas-fedor/shoutrrr/pkg/services/chat/slack"
	"github.com/nicholas-fedor/shoutrrr/pkg/services/chat/teams"
	"github.com/nicholas-fedor/shoutrrr/pkg/services/email/smtp"
	"github.com/nicholas-fedor/shoutrrr/pkg/services/push/gotify"

	"refit/models"
)

// LegacyURL is the shoutrrr URL of one of Watchtower's notifications from
// before URLs (WATCHTOWER_NOTIFICATIONS=email and its variables), built as
// Watchtower itself converts them, so its users keep their messages.
func LegacyURL(n models.WatchtowerNotification) (string, error) {
	switch n.Kind {
	case "email":
		return emailURL(n)
	case "slack":
		return slackURL(n)
	case "msteams":
		return teamsURL(n)
	case "gotify":
		return gotifyURL(n)
	}
	return "", fmt.Errorf("notification type %q: want email, slack, msteams or gotify", n.Kind)
}

func emailURL(n models.WatchtowerNotification) (string, error) {
	if n.EmailServer == "" || n.EmailFrom == "" || n.EmailTo == "" {
		return "", fmt.Errorf("email wants WATCHTOWER_NOTIFICATION_EMAIL_SERVER, _FROM and _TO")
	}
	port := n.EmailPort
	if port == 0 {
		port = 25 // Watchtower's default
	}
	conf := &smtp.Config{Host: n.EmailServer, Port: uint16(port), Username: n.EmailUser, Password: n.EmailPassword,
		FromAddress: n.EmailFrom, FromName: "Watchtower", ToAddresses: strings.Split(n.EmailTo, ","),
		Subject: "refit", UseStartTLS: !n.TLSSkipVerify, Encryption: smtp.EncMethods.Auto, Auth: smtp.AuthTypes.None,
		ClientHost: "localhost", Timeout: 10 * time.Second}
	if n.EmailUser != "" {
		conf.Auth = smtp.AuthTypes.Plain
	}
	if n.TLSSkipVerify {
		conf.Encryption = smtp.EncMethods.None
	}
	return conf.GetURL().String(), nil
}

// slackURL: a Slack webhook, or Discord's Slack-compatible one, which
// Watchtower sends through shoutrrr's discord service.
func slackURL(n models.WatchtowerNotification) (string, error) {
	hook := strings.TrimRight(n.HookURL, "/")
	parts := strings.Split(strings.TrimPrefix(hook, "https://"), "/")
	if (parts[0] == "discord.com" || parts[0] == "discordapp.com") && len(parts) >= 4 {
		conf := &discord.Config{WebhookID: parts[len(parts)-3], Token: parts[len(parts)-2], SplitLines: true, Username: n.Identifier}
		if n.IconURL != "" {
			conf.Avatar = n.IconURL
		}
		return conf.GetURL().String(), nil
	}
	conf := &slack.Config{BotName: n.Identifier, Channel: "webhook"}
	if n.IconURL != "" {
		conf.Icon = n.IconURL
	} else if n.IconEmoji != "" {
		conf.Icon = n.IconEmoji
	}
	if err := conf.Token.SetFromProp(strings.Replace(n.HookURL, "https://hooks.slack.com/services/", "", 1)); err != nil {
		return "", fmt.Errorf("slack hook URL: %w", err)
	}
	return conf.GetURL().String(), nil
}

func teamsURL(n models.WatchtowerNotification) (string, error) {
	u, err := url.Parse(n.HookURL)
	if err != nil || n.HookURL == "" {
		return "", fmt.Errorf("msteams wants WATCHTOWER_NOTIFICATION_MSTEAMS_HOOK_URL")
	}
	conf, err := teams.ConfigFromWebhookURL(*u)
	if err != nil {
		return "", fmt.Errorf("msteams hook URL: %w", err)
	}
	return conf.GetURL().String(), nil
}

func gotifyURL(n models.WatchtowerNotification) (string, error) {
	u, err := url.Parse(n.GotifyURL)
	if err != nil || u.Host == "" || n.GotifyToken == "" {
		return "", fmt.Errorf("gotify wants WATCHTOWER_NOTIFICATION_GOTIFY_URL and _TOKEN")
	}
	conf := &gotify.Config{Host: u.Host, DisableTLS: u.Scheme == "http", Token: n.GotifyToken,
		InsecureSkipVerify: n.TLSSkipVerify, Title: "refit"}
	out := conf.GetURL()
	// A server under a subpath: GetURL glues the token to the path, so the
	// path is written here, as the service reads it back (all but the last
	// segment; the token last). shoutrrr then posts to <path>//message.
	if p := strings.Trim(u.Path, "/"); p != "" {
		out.Path = "/" + p + "/" + n.GotifyToken
		out.RawPath = ""
	}
	return out.String(), nil
}
