package metrics

import (
	"net/http"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"refit/models"
)

// scans are Watchtower's metrics (its pkg/metrics), served apart on
// /v1/metrics under Watchtower's names. A scan is a check (scheduled, by
// hand, or /v1/update's) with the updates it starts, or a targeted
// /v1/update's check of its images: the gauges are reset when it begins
// and count its updates as their records end, so they are the last
// scan's numbers once its updates are done.
type scans struct {
	reg                      *prometheus.Registry
	mu                       sync.Mutex // a reset is four writes
	scanned, updated, failed prometheus.Gauge
	total, skipped           prometheus.Counter
	by                       []string // who starts a scan's updates (UpdateRecord.By)
}

func newScans() *scans {
	s := &scans{
		reg: prometheus.NewRegistry(),
		scanned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "watchtower_containers_scanned",
			Help: "Number of containers scanned for changes by watchtower during the last scan",
		}),
		updated: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "watchtower_containers_updated",
			Help: "Number of containers updated by watchtower during the last scan",
		}),
		failed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "watchtower_containers_failed",
			Help: "Number of containers where update failed during the last scan",
		}),
		total: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "watchtower_scans_total",
			Help: "Number of scans since the watchtower started",
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "watchtower_scans_skipped",
			Help: "Number of skipped scans since watchtower started",
		}),
		by: []string{"auto"},
	}
	// Watchtower serves the default registry: its own and Go's and the process's.
	s.reg.MustRegister(s.scanned, s.updated, s.failed, s.total, s.skipped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return s
}

func (s *scans) started(scanned int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total.Inc()
	s.scanned.Set(float64(scanned))
	s.updated.Set(0)
	s.failed.Set(0)
}

func (s *scans) ended(rec models.UpdateRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.by, rec.By) {
		return // by hand: no scan's
	}
	switch rec.Result {
	case models.ResultUpdated:
		s.updated.Inc()
	case models.ResultFailed, models.ResultRolledBack:
		s.failed.Inc()
	}
}

// Checked begins a scan of the checked groups' containers;
// services.Containers.OnCheck, before the auto-update hangs there.
func (m *Metrics) Checked(groups []models.ImageGroup) { m.scans.started(models.ContainerCount(groups)) }

// Scanned begins a scan of n containers that was no full check (a
// targeted /v1/update).
func (m *Metrics) Scanned(n int) { m.scans.started(n) }

// ScanSkipped counts a scan skipped because another update was running.
// Watchtower also zeroes the gauges then; here they keep the running
// scan's numbers, which are still to come.
func (m *Metrics) ScanSkipped() {
	m.scans.mu.Lock()
	defer m.scans.mu.Unlock()
	m.scans.total.Inc()
	m.scans.skipped.Inc()
}

// ScanUpdatesBy adds who, besides auto-update ("auto"), starts a scan's
// updates. Call it before updates run.
func (m *Metrics) ScanUpdatesBy(by ...string) { m.scans.by = append(m.scans.by, by...) }

// WatchtowerHandler serves Watchtower's metrics in the Prometheus text
// format, for /v1/metrics.
func (m *Metrics) WatchtowerHandler() http.Handler {
	return promhttp.HandlerFor(m.scans.reg, promhttp.HandlerOpts{})
}
