// Package metrics is refit's Prometheus surface and the only importer of
// client_golang. What the services already know (containers by status,
// registry budgets) is read from them at scrape time; events (checks,
// updates, registry requests) are counted as they happen, through hooks the
// services and the registry client call.
package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"refit/models"
)

// Source is what the scrape-time collector reads; *services.Containers.
type Source interface {
	Groups() []models.ImageGroup
	RateLimits() []models.RateLimit
	Hosts() []models.HostStatus
}

// Metrics holds refit's own registry, not the process-wide default, so
// nothing a library registers on its own shows up.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	checks    prometheus.Histogram
	updates   *prometheus.CounterVec
	updateDur prometheus.Histogram
	notified  *prometheus.CounterVec
	scans     *scans
}

// The results an update record ends with, each a series from the start.
var updateResults = []string{"updated", "uptodate", "failed", "rolled_back", "recovered"}

// New returns the metrics with the Go runtime and process collectors and
// refit_build_info; Watch adds the containers.
func New(build models.BuildInfo) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "refit_registry_requests_total",
			Help: "Requests sent to registries (manifest HEADs, pings, token exchanges, retries) by answer; code is \"error\" when none came.",
		}, []string{"registry", "method", "code"}),
		checks: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "refit_check_duration_seconds",
			Help:    "How long a check of every running container against its registry took.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "refit_updates_total",
			Help: "Container updates by how they ended, recoveries after a crash included.",
		}, []string{"result"}),
		updateDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "refit_update_duration_seconds",
			Help:    "How long one container's update took, pull and settle included.",
			Buckets: []float64{1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600},
		}),
		notified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "refit_notifications_total",
			Help: "Notification messages by event and how they ended: sent, or failed after every try.",
		}, []string{"event", "result"}),
	}
	for _, r := range updateResults {
		m.updates.WithLabelValues(r)
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "refit_build_info",
		Help: "Always 1; the labels say which refit this is.",
	}, []string{"version", "commit", "goversion"})
	info.WithLabelValues(build.Version, build.Commit, build.Go).Set(1)
	m.reg.MustRegister(m.requests, m.checks, m.updates, m.updateDur, m.notified, info,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.scans = newScans()
	return m
}

// Watch makes each scrape read containers by status and the registries'
// remaining pull budgets from src. Call it once.
func (m *Metrics) Watch(src Source) { m.reg.MustRegister(&snapshot{src: src}) }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// RegistrySent counts one request to a registry; oci.Options.Sent.
func (m *Metrics) RegistrySent(registry, method string, status int) {
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m.requests.WithLabelValues(registry, method, code).Inc()
}

// CheckDone observes one check; services.Containers.OnChecked. A failed
// check is a scan of nothing, as a failed session is in Watchtower.
func (m *Metrics) CheckDone(d time.Duration, err error) {
	m.checks.Observe(d.Seconds())
	if err != nil {
		m.scans.started(0)
	}
}

// UpdateDone counts one ended update by its record; services.History.Observe.
func (m *Metrics) UpdateDone(rec models.UpdateRecord) {
	m.scans.ended(rec)
	m.updates.WithLabelValues(strings.ReplaceAll(rec.Result, " ", "_")).Inc()
	if rec.By != "recovery" { // a recovery's time is the restart's, not an update's
		m.updateDur.Observe(time.Duration(rec.DurationMS * int64(time.Millisecond)).Seconds())
	}
}

// Notified counts one message that ended; services.NotifyOptions.Observe.
func (m *Metrics) Notified(event string, sent bool) {
	result := "failed"
	if sent {
		result = "sent"
	}
	m.notified.WithLabelValues(event, result).Inc()
}

// snapshot is the scrape-time collector of what Source knows.
type snapshot struct{ src Source }

var (
	containersDesc = prometheus.NewDesc("refit_containers",
		"Running containers (and Swarm services) by host and what the last check found.", []string{"host", "status"}, nil)
	hostUpDesc = prometheus.NewDesc("refit_host_up",
		"1 when the host's engine answered its last list, else 0.", []string{"host"}, nil)
	remainingDesc = prometheus.NewDesc("refit_registry_ratelimit_remaining",
		"Pulls the registry last said are left in its window (ratelimit-remaining).", []string{"registry"}, nil)
)

// The container statuses, each a series even at zero.
var containerStatuses = []models.Status{models.StatusUpToDate, models.StatusOutdated, models.StatusUnknown}

func (s *snapshot) Describe(ch chan<- *prometheus.Desc) {
	ch <- containersDesc
	ch <- hostUpDesc
	ch <- remainingDesc
}

func (s *snapshot) Collect(ch chan<- prometheus.Metric) {
	n := map[string]map[models.Status]int{}
	for _, h := range s.src.Hosts() {
		n[h.Name] = map[models.Status]int{}
		up := 0.0
		if h.Status == models.HostOK {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(hostUpDesc, prometheus.GaugeValue, up, h.Name)
	}
	for _, g := range s.src.Groups() {
		for _, c := range g.Containers {
			if n[c.Ref.Host] == nil {
				n[c.Ref.Host] = map[models.Status]int{}
			}
			n[c.Ref.Host][c.Status]++
		}
	}
	for host, byStatus := range n {
		for _, st := range containerStatuses {
			ch <- prometheus.MustNewConstMetric(containersDesc, prometheus.GaugeValue, float64(byStatus[st]), host, string(st))
			delete(byStatus, st)
		}
		for st, v := range byStatus { // a status added later still shows
			ch <- prometheus.MustNewConstMetric(containersDesc, prometheus.GaugeValue, float64(v), host, string(st))
		}
	}
	for _, rl := range s.src.RateLimits() {
		ch <- prometheus.MustNewConstMetric(remainingDesc, prometheus.GaugeValue, float64(rl.Remaining), rl.Registry)
	}
}
