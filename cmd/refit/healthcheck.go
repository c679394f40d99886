package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheckTimeout bounds the whole probe; the image's HEALTHCHECK gives it
// more, so a slow answer is reported by refit and not by Docker's kill.
const healthcheckTimeout = 2 * time.Second

// healthcheck is `refit healthcheck`: it asks the running server's /health on
// the configured address and fails unless the answer is 200. It touches no
// database and no engine, and needs no shell, so a FROM scratch image can use
// it as its HEALTHCHECK.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseConfig("healthcheck", args, getenv, stderr)
	if err != nil {
		return err
	}
	url := "http://" + probeAddr(cfg.Addr) + "/health"
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	// No proxy from the environment: the probe is for this machine.
	cl := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := cl.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: %s", url, resp.Status)
	}
	return nil
}

// probeAddr turns a listen address into one to dial: a listener on every
// address (":8099", "0.0.0.0:8099", "[::]:8099") is asked on loopback.
func probeAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr // parseConfig has checked it
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
